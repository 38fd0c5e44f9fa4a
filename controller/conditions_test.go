package controller

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

var ignoreConditionText = cmpopts.IgnoreFields(metav1.Condition{}, "Message", "LastTransitionTime", "ObservedGeneration")

func TestSetTargetResolvedCondition(t *testing.T) {
	va := builders.MakeVA("a", "ns").Obj()
	cases := map[string]struct {
		member modelgroup.Member
		want   metav1.Condition
	}{
		"found": {
			member: modelgroup.Member{VA: va, Target: modelgroup.Target{Found: true, SpecReplicas: 2}},
			want:   metav1.Condition{Type: "TargetResolved", Status: "True", Reason: "TargetFound"},
		},
		"missing": {
			member: modelgroup.Member{VA: va},
			want:   metav1.Condition{Type: "TargetResolved", Status: "False", Reason: "TargetNotFound"},
		},
		"lookup error is not a fact": {
			member: modelgroup.Member{VA: va, Target: modelgroup.Target{Err: errors.New("forbidden")}},
			want:   metav1.Condition{Type: "TargetResolved", Status: "Unknown", Reason: "TargetReadFailed"},
		},
		"owned by an older VA": {
			member: modelgroup.Member{VA: va, OwnerOfTarget: "older", Target: modelgroup.Target{Found: true}},
			want:   metav1.Condition{Type: "TargetResolved", Status: "False", Reason: "TargetConflict"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var st llmdv1alpha1.VariantAutoscalingStatus
			setTargetResolvedCondition(&st, &tc.member, time.Unix(100, 0))
			if diff := cmp.Diff([]metav1.Condition{tc.want}, st.Conditions, ignoreConditionText); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetMetricsAvailableCondition(t *testing.T) {
	cases := map[string]struct {
		load        modelgroup.LoadReading
		want        metav1.Condition
		wantMessage string
	}{
		"available": {
			load: modelgroup.LoadReading{Available: true},
			want: metav1.Condition{Type: "MetricsAvailable", Status: "True", Reason: "MetricsFound"},
		},
		"stale keeps its reason": {
			load:        modelgroup.LoadReading{Reason: "MetricsStale", Message: "sample is 10m old"},
			want:        metav1.Condition{Type: "MetricsAvailable", Status: "False", Reason: "MetricsStale"},
			wantMessage: "sample is 10m old; replicas are held",
		},
		"no reason given means missing": {
			load:        modelgroup.LoadReading{},
			want:        metav1.Condition{Type: "MetricsAvailable", Status: "False", Reason: "MetricsMissing"},
			wantMessage: "no load data for the model; replicas are held",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var st llmdv1alpha1.VariantAutoscalingStatus
			setMetricsAvailableCondition(&st, 3, tc.load, time.Unix(100, 0))
			if diff := cmp.Diff([]metav1.Condition{tc.want}, st.Conditions, ignoreConditionText); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
			if tc.wantMessage != "" && st.Conditions[0].Message != tc.wantMessage {
				t.Errorf("message = %q, want %q", st.Conditions[0].Message, tc.wantMessage)
			}
			if st.Conditions[0].ObservedGeneration != 3 {
				t.Errorf("observedGeneration = %d, want 3", st.Conditions[0].ObservedGeneration)
			}
		})
	}
}

func TestSetOptimizedConditionKeepsTransitionTimeWhenUnchanged(t *testing.T) {
	var st llmdv1alpha1.VariantAutoscalingStatus
	t0, t1 := time.Unix(100, 0), time.Unix(200, 0)
	setOptimizedCondition(&st, 1, true, "Succeeded", "2 replicas", t0)
	setOptimizedCondition(&st, 1, true, "Succeeded", "3 replicas", t1)
	if got := st.Conditions[0].LastTransitionTime.Time; !got.Equal(t0) {
		t.Errorf("lastTransitionTime = %v after a same-status update, want %v", got, t0)
	}
	setOptimizedCondition(&st, 1, false, "Infeasible", "no variant meets the SLO", t1)
	if got := st.Conditions[0].LastTransitionTime.Time; !got.Equal(t1) {
		t.Errorf("lastTransitionTime = %v after a status change, want %v", got, t1)
	}
	if st.Conditions[0].Reason != "Infeasible" || st.Conditions[0].Status != metav1.ConditionFalse {
		t.Errorf("condition = %+v, want False/Infeasible", st.Conditions[0])
	}
}

func TestDecisionEvent(t *testing.T) {
	cases := map[string]struct {
		reason        llmdv1alpha1.DecisionReason
		before, after int32
		wantType      string
		wantReason    string
	}{
		"up":               {reason: "LoadChange", before: 1, after: 3, wantType: "Normal", wantReason: EventScaledUp},
		"down":             {reason: "LoadChange", before: 3, after: 1, wantType: "Normal", wantReason: EventScaledDown},
		"to zero":          {reason: "ScaleToZero", before: 2, after: 0, wantType: "Normal", wantReason: EventScaledToZero},
		"keep cheapest":    {reason: "KeepCheapest", before: 0, after: 1, wantType: "Normal", wantReason: EventKeptCheapest},
		"capacity limited": {reason: "CapacityLimited", before: 4, after: 8, wantType: "Warning", wantReason: EventCapacityLimited},
		"no change":        {reason: "Optimal", before: 2, after: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			gotType, gotReason := decisionEvent(tc.reason, tc.before, tc.after)
			if gotType != tc.wantType || gotReason != tc.wantReason {
				t.Errorf("decisionEvent = %q/%q, want %q/%q", gotType, gotReason, tc.wantType, tc.wantReason)
			}
		})
	}
}

func TestRequeueAfter(t *testing.T) {
	now := time.Unix(1000, 0)
	cases := map[string]struct {
		next time.Time
		want time.Duration
	}{
		"no time rule":         {want: time.Minute},
		"rule before interval": {next: now.Add(20 * time.Second), want: 20 * time.Second},
		"rule after interval":  {next: now.Add(time.Hour), want: time.Minute},
		"rule already matured": {next: now.Add(-time.Second), want: time.Second},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := requeueAfter(groupPlan{NextEvaluation: tc.next}, now, time.Minute); got != tc.want {
				t.Errorf("requeueAfter = %v, want %v", got, tc.want)
			}
		})
	}
}
