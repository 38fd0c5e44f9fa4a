package controller

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// lowestPriority is the priority of a group none of whose members resolves
// to a service class: it competes after every class.
const lowestPriority = math.MaxInt32

// budgetSource is what a group's plan needs of the capacity arbiter; a nil
// *CapacityArbiter is a valid one (no budgets, claims dropped).
type budgetSource interface {
	Budget(key modelgroup.Key) (allocator.Limits, map[string]int)
}

// capacityOutcome is the limited-capacity part of a group's plan.
type capacityOutcome struct {
	// Claim is the group's ask for the arbitration (nil when capacity is
	// unlimited or the plan failed): the reconciler records it.
	Claim *allocator.Claim
	// Budget says how the group's budget bound the plan (nil: no budget).
	Budget *allocator.BudgetReport
	// Pending are the group's pods Pending for lack of accelerators, per type.
	Pending map[string]int
}

// planWithinBudget runs the allocator for a group. With CAPACITY_MODE
// limited it first plans without limits, which gives the group's claim, and
// then, when the group has a budget, plans again within it. The state of the
// plan that is applied is the one returned.
func planWithinBudget(cfg *config.Config, key modelgroup.Key, priority int, in allocator.Input,
	cache *allocator.CapacityCache, budgets budgetSource,
) (allocator.Result, capacityOutcome, error) {
	free, err := allocator.Plan(in, cache)
	if err != nil || !cfg.Operator.Capacity.Limited() {
		return free, capacityOutcome{}, err
	}
	claim := allocator.ClaimOf(key.String(), priority, in, free)
	out := capacityOutcome{Claim: &claim}
	if budgets == nil {
		return free, out, nil
	}
	limits, pending := budgets.Budget(key)
	out.Pending = pending
	if limits == nil {
		return free, out, nil
	}
	in.Limits = limits
	res, err := allocator.Plan(in, cache)
	if err != nil {
		return free, out, err
	}
	out.Budget = res.Budget
	return res, out, nil
}

// snapshotPriority is the group's priority in the arbitration.
func snapshotPriority(snap *modelgroup.Snapshot) int {
	classes := make([]string, len(snap.Members))
	for i := range snap.Members {
		classes[i] = snap.Members[i].VA.Spec.ServiceClass
	}
	return groupPriority(snap.Config, snap.Key.Namespace, snap.Key.ModelID, classes)
}

// applyBudget says on every planned VA of a group bound by its budget why
// its plan is not the one it would choose: Optimized=False, CapacityLimited,
// with the budget, the load it cannot serve and what it would need.
func applyBudget(plan *groupPlan, planned []int, out capacityOutcome, now time.Time) {
	if out.Budget == nil || !out.Budget.Limited {
		return
	}
	msg := budgetMessage(out.Budget, out.Pending)
	for _, i := range planned {
		vp := &plan.Variants[i]
		setOptimizedCondition(&vp.Status, vp.Member.VA.Generation, false, llmdv1alpha1.ConditionReasonCapacityLimited, msg, now)
	}
}

// groupPriority is the most important priority (the lowest number) among
// the service classes of the group's members.
func groupPriority(cfg *config.Config, namespace, modelID string, serviceClasses []string) int {
	p := lowestPriority
	for _, sc := range serviceClasses {
		_, class, err := cfg.SLOFor(namespace, modelID, sc)
		if err != nil {
			continue
		}
		if c, ok := cfg.ServiceClasses.Classes[class]; ok {
			p = min(p, c.Priority)
		}
	}
	return p
}

// budgetMessage explains a plan bound by its budget, for the Optimized
// condition: the budget, the load it cannot serve, what the group would
// need, and its Pending pods.
func budgetMessage(b *allocator.BudgetReport, pending map[string]int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "accelerator budget %s of the limited inventory", formatCounts(b.Limits))
	if b.Unserved > 0 {
		fmt.Fprintf(&sb, "; %.2f req/s of the load cannot be served within the SLO", b.Unserved)
	} else {
		sb.WriteString("; the load is served, at a higher cost than without the budget")
	}
	fmt.Fprintf(&sb, "; without the budget the plan would use %s", formatCounts(b.Needs))
	if n := sumCounts(pending); n > 0 {
		fmt.Fprintf(&sb, "; %d pods Pending for lack of accelerators (%s)", n, formatCounts(pending))
	}
	return sb.String()
}

func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	names := make([]string, 0, len(m))
	for t := range m {
		names = append(names, t)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, t := range names {
		parts[i] = fmt.Sprintf("%s=%d", t, m[t])
	}
	return strings.Join(parts, ",")
}

func sumCounts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
