package controller

import (
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// variantPlan is what the reconciler does for one member of a group.
type variantPlan struct {
	Member *modelgroup.Member
	// Status is the VA's status as it should be.
	Status llmdv1alpha1.VariantAutoscalingStatus
	// Planned is true when the allocator sized this VA; Desired is then valid.
	Planned bool
	Desired int32
	// Cost is the cost of one replica per hour (valid when Planned).
	Cost float64
	// Capacity is what one replica carries within the SLO, req/s (valid
	// when Planned and the load is known).
	Capacity float64
}

// groupPlan is the outcome of one group's plan.
type groupPlan struct {
	Variants []variantPlan
	State    allocator.State
	// NextEvaluation is when a time rule matures (zero: none).
	NextEvaluation time.Time
	// ScaleToZero is the policy in force for the group.
	ScaleToZero config.ScaleToZeroPolicy
	// Capacity is the claim and budget of limited capacity (capacity_plan.go).
	Capacity capacityOutcome
}

// planGroup turns a snapshot into a plan: pure, no I/O. Members that cannot
// be planned (target conflict or missing, config that does not resolve) get
// conditions saying why; the rest of the group is still planned.
func planGroup(snap *modelgroup.Snapshot, state allocator.State, now time.Time, cache *allocator.CapacityCache) groupPlan {
	return planGroupWithin(snap, state, now, cache, nil, nil)
}

// planGroupWithin is planGroup within the group's accelerator budget when
// capacity is limited (capacity_plan.go); budgets may be nil. learned holds
// the members' learned profiles (learning.go; nil: spec.profile only).
func planGroupWithin(snap *modelgroup.Snapshot, state allocator.State, now time.Time, cache *allocator.CapacityCache, budgets budgetSource, learned learnedProfiles) groupPlan {
	cfg := snap.Config
	plan := groupPlan{State: state, ScaleToZero: cfg.ScaleToZeroFor(snap.Key.Namespace, snap.Key.ModelID)}
	load := partialData(snap)
	in := allocator.Input{
		Load:      allocatorLoad(load),
		CreatedAt: newestCreation(snap),
		State:     state,
		Now:       now,
		Policy:    groupPolicy(cfg, plan.ScaleToZero),
	}
	var planned []int // indexes into plan.Variants of the members given to the allocator
	var slo *config.SLO
	for i := range snap.Members {
		m := &snap.Members[i]
		vp := variantPlan{Member: m, Status: *m.VA.Status.DeepCopy()}
		vp.Status.ObservedGeneration = m.VA.Generation
		vp.Status.CurrentReplicas = m.Target.StatusReplicas
		setTargetResolvedCondition(&vp.Status, m, now)
		setMetricsAvailableCondition(&vp.Status, m.VA.Generation, load, now)
		profile := chooseProfile(cfg, m, learned, load, &vp.Status, now)
		variant, memberSLO, reason, err := resolveVariant(cfg, m, snap.RequireOptIn, profile)
		switch {
		case err != nil && reason == llmdv1alpha1.ConditionReasonTargetReadFailed:
			setOptimizedUnknownCondition(&vp.Status, m.VA.Generation, reason, err.Error(), now)
		case err != nil:
			setOptimizedCondition(&vp.Status, m.VA.Generation, false, reason, err.Error(), now)
		default:
			vp.Planned, vp.Cost = true, variant.Cost
			in.Variants = append(in.Variants, variant)
			planned = append(planned, i)
			slo = stricter(slo, memberSLO)
		}
		plan.Variants = append(plan.Variants, vp)
	}
	if len(in.Variants) == 0 {
		return plan
	}
	in.SLO = allocator.SLO{TTFT: slo.TTFT, ITL: slo.ITL}
	result, capacity, err := planWithinBudget(cfg, snap.Key, snapshotPriority(snap), in, cache, budgets)
	plan.Capacity = capacity
	if err != nil {
		for _, i := range planned {
			vp := &plan.Variants[i]
			vp.Planned = false
			setOptimizedCondition(&vp.Status, vp.Member.VA.Generation, false, llmdv1alpha1.ConditionReasonProfileInvalid, err.Error(), now)
		}
		return plan
	}
	plan.State, plan.NextEvaluation = result.State, result.NextEvaluation
	for j, i := range planned {
		vp, d := &plan.Variants[i], result.Variants[j]
		if d.Excluded {
			// Issue 12: a VA whose own input is invalid is reported alone.
			vp.Planned = false
			setExcludedCondition(&vp.Status, vp.Member.VA.Generation, d.Err, now)
			continue
		}
		applyDecision(vp, d, result.Outcome, now)
		switch {
		case result.Outcome == allocator.OutcomeMetricsStale:
			setImplausibleLoadCondition(&vp.Status, vp.Member.VA.Generation, in.Load.Rate, state, now)
		case result.Heuristic && d.Err == nil && result.Outcome == allocator.OutcomeSucceeded:
			setOptimizedCondition(&vp.Status, vp.Member.VA.Generation, true, llmdv1alpha1.ConditionReasonApproximate,
				approximateMessage(result, d.Replicas), now)
		}
	}
	applyBudget(&plan, planned, capacity, now)
	return plan
}

// resolveVariant turns a member into an allocator variant with its cost and
// SLO from the config in force, planned with the chosen profile; the reason
// names the Optimized condition reason when it cannot.
func resolveVariant(cfg *config.Config, m *modelgroup.Member, requireOptIn bool, profile profileChoice) (allocator.Variant, config.SLO, string, error) {
	va := m.VA
	if m.OwnerOfTarget != "" {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonTargetConflict,
			fmt.Errorf("the scale target is sized by the older VariantAutoscaling %s", m.OwnerOfTarget)
	}
	if m.Target.Err != nil {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonTargetReadFailed,
			errors.New("the scale target could not be read; its replicas are left as they are (see TargetResolved)")
	}
	if !m.Target.Found {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonTargetNotFound,
			errors.New("the scale target cannot be read; see TargetResolved")
	}
	if requireOptIn && va.Spec.EffectiveMode() == llmdv1alpha1.ModeAuto && !optedIn(m.Target.Annotations, va.Name) {
		ref := va.Spec.ScaleTargetRef
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonActuationNotAllowed,
			fmt.Errorf("%s %s has not opted in to be scaled by this VariantAutoscaling; it is left alone: "+
				"someone who may edit it must annotate it with %s: %s (or \"*\")",
				ref.Kind, ref.Name, llmdv1alpha1.AnnotationScaledBy, va.Name)
	}
	if profile.Err != nil {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonProfileInvalid, profile.Err
	}
	cost, err := cfg.VariantCost(&va.Spec)
	if err != nil {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonConfigInvalid, err
	}
	slo, _, err := cfg.SLOFor(va.Namespace, va.Spec.ModelID, va.Spec.ServiceClass)
	if err != nil {
		return allocator.Variant{}, config.SLO{}, llmdv1alpha1.ConditionReasonConfigInvalid, err
	}
	maxReplicas := -1
	if va.Spec.MaxReplicas != nil {
		maxReplicas = int(*va.Spec.MaxReplicas)
	}
	return allocator.Variant{
		Name:    va.Name,
		Cost:    cost,
		Profile: profile.Profile,
		Min:     int(va.Spec.MinReplicas),
		Max:     maxReplicas,
		Current: int(m.Target.SpecReplicas),
		// What a replica takes of a limited inventory (capacity_plan.go).
		Accelerator: va.Spec.Accelerator,
		Units:       int(va.Spec.AcceleratorCount),
	}, slo, "", nil
}

// groupPolicy is the allocator policy of a group under cfg: the operator's
// rules and the group's scale-to-zero policy. allocator.DefaultPolicy is
// this policy under the defaults (TestDefaultPolicyIsTheOperatorDefault).
func groupPolicy(cfg *config.Config, stz config.ScaleToZeroPolicy) allocator.Policy {
	op := cfg.Operator
	return allocator.Policy{
		ScaleToZero:         stz.Enabled,
		Retention:           stz.Retention,
		StabilizationWindow: op.StabilizationWindow,
		CostSavingThreshold: op.CostSavingThreshold,
		// Issue 12: bounded actions.
		MaxReplicasPerVariant: op.MaxReplicasPerVariant,
		ScaleUp: allocator.ScaleUpPolicy{
			MaxReplicas: op.ScaleUp.MaxReplicas, MaxPercent: op.ScaleUp.MaxPercent, Period: op.ScaleUp.Period,
		},
		LoadJump:     allocator.LoadJumpPolicy{Factor: op.LoadJump.Factor, Confirmation: op.LoadJump.Confirmation},
		BacklogDrain: op.BacklogDrainTime,
	}
}

// decisionReason converts an allocator reason to the API's. Every
// allocator.Reason constant is declared in api/v1alpha1 with the same name
// and value (TestAllocatorReasonsAreDecisionReasons), so the conversion is
// the identity on the text.
func decisionReason(r allocator.Reason) llmdv1alpha1.DecisionReason {
	return llmdv1alpha1.DecisionReason(r)
}

// stricter returns the tighter of two SLOs, target by target: a group serves
// one model, so it meets the strictest SLO any of its variants asks for.
func stricter(a *config.SLO, b config.SLO) *config.SLO {
	if a == nil {
		return &b
	}
	return &config.SLO{TTFT: math.Min(a.TTFT, b.TTFT), ITL: math.Min(a.ITL, b.ITL)}
}

func allocatorLoad(r modelgroup.LoadReading) allocator.Load {
	return allocator.Load{
		Available:           r.Available,
		Rate:                r.Load.ArrivalRate,
		AvgIn:               r.Load.AvgInputTokens,
		AvgOut:              r.Load.AvgOutputTokens,
		RequestsInRetention: r.Load.RequestsInRetention,
		DataSince:           r.Load.DataSince,
		Waiting:             r.Load.Waiting + r.Load.ServerWaiting,
	}
}

// applyDecision writes one allocator decision into the VA's status.
func applyDecision(vp *variantPlan, d allocator.Decision, outcome allocator.Outcome, now time.Time) {
	st := &vp.Status
	gen := vp.Member.VA.Generation
	vp.Desired, vp.Capacity = int32(d.Replicas), d.Capacity
	prev := st.DesiredReplicas
	decision := llmdv1alpha1.Decision{
		LoadShare:     llmdv1alpha1.FormatDecimal(d.LoadShare, 2),
		PredictedTTFT: llmdv1alpha1.FormatDecimal(d.TTFT, 1),
		PredictedITL:  llmdv1alpha1.FormatDecimal(d.ITL, 1),
		CostPerHour:   llmdv1alpha1.FormatDecimal(d.Cost, 2),
		Reason:        decisionReason(d.Reason),
	}
	if st.Decision != nil {
		decision.LastChangeTime = st.Decision.LastChangeTime
	}
	if prev == nil || *prev != vp.Desired || decision.LastChangeTime == nil {
		decision.LastChangeTime = ptr.To(metaTime(now))
	}
	st.DesiredReplicas = ptr.To(vp.Desired)
	st.Decision = &decision

	switch {
	case d.Err != nil:
		setOptimizedCondition(st, gen, false, llmdv1alpha1.ConditionReasonInfeasible, d.Err.Error(), now)
	case outcome == allocator.OutcomeMetricsMissing || outcome == allocator.OutcomeMetricsStale:
		setOptimizedCondition(st, gen, false, llmdv1alpha1.ConditionReasonMetricsUnavailable,
			fmt.Sprintf("holding %d replicas until the model's load is known", d.Replicas), now)
	case outcome == allocator.OutcomeCapacityLimited:
		setOptimizedCondition(st, gen, false, llmdv1alpha1.ConditionReasonCapacityLimited,
			"every variant of the model is at its maximum and the load still exceeds their capacity", now)
	case outcome == allocator.OutcomeInfeasible:
		setOptimizedCondition(st, gen, false, llmdv1alpha1.ConditionReasonInfeasible,
			"no variant of the model can meet its SLO", now)
	default:
		setOptimizedCondition(st, gen, true, llmdv1alpha1.ConditionReasonSucceeded,
			fmt.Sprintf("planned %d replicas (%s)", d.Replicas, d.Reason), now)
	}
}
