package controller

import (
	"time"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// PlanGroupStatuses plans one group from its snapshot exactly as the
// model-group reconciler does (pure, no I/O) and returns the status each
// member should have, in snap.Members order, and the allocator state to pass
// to the group's next plan. The load harness (test/load) builds its baseline
// strategies and its expected decisions on it.
func PlanGroupStatuses(snap *modelgroup.Snapshot, state allocator.State, now time.Time,
	cache *allocator.CapacityCache) ([]llmdv1alpha1.VariantAutoscalingStatus, allocator.State) {
	plan := planGroup(snap, state, now, cache)
	out := make([]llmdv1alpha1.VariantAutoscalingStatus, len(plan.Variants))
	for i := range plan.Variants {
		out[i] = plan.Variants[i].Status
	}
	return out, plan.State
}
