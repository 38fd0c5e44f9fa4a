package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestPartialData(t *testing.T) {
	member := func(ready int32, owner string) modelgroup.Member {
		return modelgroup.Member{VA: &llmdv1alpha1.VariantAutoscaling{}, OwnerOfTarget: owner,
			Target: modelgroup.Target{Found: true, SpecReplicas: ready, ReadyReplicas: ready}}
	}
	found := modelgroup.LoadReading{Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound}
	withPods := func(r modelgroup.LoadReading, pods int) modelgroup.LoadReading { r.Load.Pods = pods; return r }
	cases := map[string]struct {
		load       modelgroup.LoadReading
		members    []modelgroup.Member
		wantReason string
	}{
		"all pods report":              {withPods(found, 3), []modelgroup.Member{member(2, ""), member(1, "")}, llmdv1alpha1.ConditionReasonMetricsFound},
		"more pods than ready (start)": {withPods(found, 4), []modelgroup.Member{member(3, "")}, llmdv1alpha1.ConditionReasonMetricsFound},
		"one of three missing":         {withPods(found, 2), []modelgroup.Member{member(2, ""), member(1, "")}, llmdv1alpha1.ConditionReasonMetricsStale},
		"conflicting member ignored":   {withPods(found, 2), []modelgroup.Member{member(2, ""), member(5, "older")}, llmdv1alpha1.ConditionReasonMetricsFound},
		"pods unknown":                 {found, []modelgroup.Member{member(3, "")}, llmdv1alpha1.ConditionReasonMetricsFound},
		"not available stays so":       {modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing}, []modelgroup.Member{member(3, "")}, llmdv1alpha1.ConditionReasonMetricsMissing},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := partialData(&modelgroup.Snapshot{Load: tc.load, Members: tc.members})
			if diff := cmp.Diff(tc.wantReason, got.Reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s (%s)", diff, got.Message)
			}
			if got.Available != (tc.wantReason == llmdv1alpha1.ConditionReasonMetricsFound) {
				t.Errorf("available %v for reason %s", got.Available, got.Reason)
			}
		})
	}
}

func TestNewestCreation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	va := func(at time.Time) modelgroup.Member {
		return modelgroup.Member{VA: &llmdv1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(at)}}}
	}
	snap := &modelgroup.Snapshot{Members: []modelgroup.Member{va(t0), va(t0.Add(time.Hour)), va(t0.Add(time.Minute))}}
	if got := newestCreation(snap); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("newest creation %v, want %v", got, t0.Add(time.Hour))
	}
}
