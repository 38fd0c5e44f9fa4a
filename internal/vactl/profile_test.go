package vactl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// The plugin plans a VA with the profile the operator chose, as the status
// records it: learned while ProfileLearned says so, spec.profile otherwise,
// none (held, with the condition's reason) when there is neither.
func TestPlannedProfile(t *testing.T) {
	learned := learning.ToStatus(estimator.Estimate{Params: estimator.Params{Alpha: 17, Beta: 0.6, Gamma: 35, Delta: 0.05}, DecodeSamples: 40, PrefillSamples: 38}, "default for L40")
	profileLearned := func(status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: llmdv1alpha1.ConditionProfileLearned, Status: status, Reason: reason, Message: msg}
	}
	specProfile := allocator.Profile{MaxBatchSize: 32, Alpha: 14, Beta: 0.2, Gamma: 30, Delta: 0.01}
	withSpec := func() *builders.VAWrapper {
		return builders.MakeVA("v", "ns").Profile(32, "14", "0.2", "30", "0.01")
	}
	cases := map[string]struct {
		va          *llmdv1alpha1.VariantAutoscaling
		wantProfile allocator.Profile
		wantWhat    string
		wantErr     string
	}{
		"spec, learning never ran": {
			va: withSpec().Obj(), wantProfile: specProfile, wantWhat: "spec.profile",
		},
		"learned and in use, max batch from the spec": {
			va:          withStatus(withSpec().Obj(), learned, profileLearned(metav1.ConditionTrue, llmdv1alpha1.ConditionReasonLearned, "")),
			wantProfile: allocator.Profile{MaxBatchSize: 32, Alpha: 17, Beta: 0.6, Gamma: 35, Delta: 0.05},
			wantWhat:    "learned (ProfileLearned True, Learned; 40 decode and 38 prefill samples)",
		},
		"learned without a spec: vLLM's default batch": {
			va:          withStatus(builders.MakeVA("v", "ns").NoProfile().Obj(), learned, profileLearned(metav1.ConditionTrue, llmdv1alpha1.ConditionReasonLearned, "")),
			wantProfile: allocator.Profile{MaxBatchSize: learning.DefaultMaxBatchSize, Alpha: 17, Beta: 0.6, Gamma: 35, Delta: 0.05},
			wantWhat:    "learned (ProfileLearned True, Learned; 40 decode and 38 prefill samples)",
		},
		"the metrics contradict the spec": {
			va:          withStatus(withSpec().Obj(), learned, profileLearned(metav1.ConditionFalse, llmdv1alpha1.ConditionReasonSpecContradicted, "")),
			wantProfile: allocator.Profile{MaxBatchSize: 32, Alpha: 17, Beta: 0.6, Gamma: 35, Delta: 0.05},
			wantWhat:    "learned (ProfileLearned False, SpecContradicted; 40 decode and 38 prefill samples)",
		},
		"still learning: the spec": {
			va:          withStatus(withSpec().Obj(), learned, profileLearned(metav1.ConditionFalse, llmdv1alpha1.ConditionReasonNotEnoughSamples, "")),
			wantProfile: specProfile, wantWhat: "spec.profile",
		},
		"still learning without a spec: held": {
			va: withStatus(builders.MakeVA("v", "ns").NoProfile().Obj(), learned,
				profileLearned(metav1.ConditionFalse, llmdv1alpha1.ConditionReasonNotEnoughSamples, "4 decode observations accepted; 10 are needed")),
			wantErr: "no profile to plan with, replicas are held: 4 decode observations accepted; 10 are needed",
		},
		"pinned to the learned profile, not learned yet: held despite the spec": {
			va: withStatus(func() *llmdv1alpha1.VariantAutoscaling {
				va := withSpec().Obj()
				va.Spec.ProfileSource = llmdv1alpha1.ProfileSourceLearned
				return va
			}(), learned, profileLearned(metav1.ConditionFalse, llmdv1alpha1.ConditionReasonUncertain, "the capacity's standard error is 14%")),
			wantErr: "no profile to plan with, replicas are held: the capacity's standard error is 14%",
		},
		"nothing at all": {
			va:      builders.MakeVA("v", "ns").NoProfile().Obj(),
			wantErr: "no spec.profile and no learned profile yet",
		},
		"a corrupt learned profile is not used silently": {
			va: withStatus(builders.MakeVA("v", "ns").NoProfile().Obj(), &llmdv1alpha1.LearnedProfile{Decode: llmdv1alpha1.DecodeParameters{Alpha: "x"}},
				profileLearned(metav1.ConditionTrue, llmdv1alpha1.ConditionReasonLearned, "")),
			wantErr: "status.learnedProfile",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, what, err := plannedProfile(tc.va)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantProfile, got); diff != "" || what != tc.wantWhat {
				t.Errorf("profile (-want +got):\n%s\nwhat %q, want %q", diff, what, tc.wantWhat)
			}
		})
	}
}

func withStatus(va *llmdv1alpha1.VariantAutoscaling, lp *llmdv1alpha1.LearnedProfile, c metav1.Condition) *llmdv1alpha1.VariantAutoscaling {
	va.Status.LearnedProfile = lp
	va.Status.Conditions = append(va.Status.Conditions, c)
	return va
}
