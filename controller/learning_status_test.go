package controller

import (
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func TestKeepLearningStatus(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	status := func(alpha, seAlpha string, samples int32, at time.Time, reason, message string) llmdv1alpha1.VariantAutoscalingStatus {
		return llmdv1alpha1.VariantAutoscalingStatus{
			LearnedProfile: &llmdv1alpha1.LearnedProfile{
				Decode:         llmdv1alpha1.DecodeParameters{Alpha: alpha, Beta: "0.3"},
				Prefill:        llmdv1alpha1.PrefillParameters{Gamma: "15", Delta: "0.02"},
				StandardErrors: llmdv1alpha1.ProfileStandardErrors{Alpha: seAlpha, Beta: "0.001", Gamma: "0.5", Delta: "0.001"},
				DecodeSamples:  samples, LastUpdateTime: &metav1.Time{Time: at},
			},
			Conditions: []metav1.Condition{{Type: llmdv1alpha1.ConditionProfileLearned, Status: metav1.ConditionTrue,
				Reason: reason, Message: message, LastTransitionTime: metav1.Time{Time: t0}}},
		}
	}
	stored := status("8", "0.03", 70, t0, llmdv1alpha1.ConditionReasonLearned, "learned from 70")
	for name, tc := range map[string]struct {
		stored, planned llmdv1alpha1.VariantAutoscalingStatus
		wantStored      bool
	}{
		"small moves and new counts keep what is stored": {
			stored: stored, planned: status("8.1", "0.028", 90, t0.Add(time.Minute), llmdv1alpha1.ConditionReasonLearned, "learned from 90"),
			wantStored: true,
		},
		"a parameter moved beyond 2% is written": {
			stored: stored, planned: status("8.2", "0.03", 90, t0.Add(time.Minute), llmdv1alpha1.ConditionReasonLearned, "learned from 90"),
		},
		"a standard error moved beyond 25% is written": {
			stored: stored, planned: status("8", "0.02", 90, t0.Add(time.Minute), llmdv1alpha1.ConditionReasonLearned, "learned from 90"),
		},
		"a new reason is written": {
			stored: stored, planned: status("8", "0.03", 90, t0.Add(time.Minute), llmdv1alpha1.ConditionReasonUncertain, "uncertain"),
		},
		"a stored estimate 10 minutes old is refreshed": {
			stored: stored, planned: status("8", "0.03", 900, t0.Add(learnedStatusRefresh), llmdv1alpha1.ConditionReasonLearned, "learned from 900"),
		},
		"nothing stored yet is written": {
			stored: llmdv1alpha1.VariantAutoscalingStatus{}, planned: stored,
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := *tc.planned.DeepCopy()
			if kept := keepLearningStatus(tc.stored, &got); kept != tc.wantStored {
				t.Errorf("kept %v, want %v", kept, tc.wantStored)
			}
			want := tc.planned
			if tc.wantStored {
				want = tc.stored
			}
			if diff := gocmp.Diff(want, got); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}
