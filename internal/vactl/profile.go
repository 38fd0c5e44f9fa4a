package vactl

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/learning"
)

// plannedProfile is the profile the operator plans the VA with, as its
// status records the choice (controller/learning.go chooseProfile): the
// learned one while ProfileLearned says it is in use (Learned, or the
// metrics contradict spec.profile), else spec.profile unless profileSource
// pins the learned one. what names it for the explanation. With neither,
// the error says why the replicas are held.
func plannedProfile(va *llmdv1alpha1.VariantAutoscaling) (p allocator.Profile, what string, err error) {
	c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionProfileLearned)
	inUse := c != nil && (c.Status == metav1.ConditionTrue || c.Reason == llmdv1alpha1.ConditionReasonSpecContradicted)
	if inUse && va.Status.LearnedProfile != nil {
		est, err := learning.FromStatus(va.Status.LearnedProfile)
		if err != nil {
			return p, "", fmt.Errorf("status.learnedProfile: %w", err)
		}
		maxBatch := learning.DefaultMaxBatchSize
		if va.Spec.Profile.MaxBatchSize > 0 {
			maxBatch = int(va.Spec.Profile.MaxBatchSize)
		}
		return learning.Profile(est.Params, maxBatch), fmt.Sprintf("learned (ProfileLearned %s, %s; %d decode and %d prefill samples)",
			c.Status, c.Reason, est.DecodeSamples, est.PrefillSamples), nil
	}
	held := "no profile to plan with, replicas are held"
	if c != nil {
		held += ": " + c.Message
	}
	if va.Spec.EffectiveProfileSource() == llmdv1alpha1.ProfileSourceLearned {
		return p, "", errors.New(held) // pinned to the learned profile, which is not in use yet
	}
	sp, err := va.Spec.Profile.Parse()
	switch {
	case errors.Is(err, llmdv1alpha1.ErrNoProfile) && c != nil:
		return p, "", errors.New(held)
	case errors.Is(err, llmdv1alpha1.ErrNoProfile):
		return p, "", errors.New("no spec.profile and no learned profile yet: replicas are held")
	case err != nil:
		return p, "", fmt.Errorf("invalid profile: %w", err)
	}
	return allocator.Profile{MaxBatchSize: sp.MaxBatchSize, Alpha: sp.Alpha, Beta: sp.Beta, Gamma: sp.Gamma, Delta: sp.Delta}, "spec.profile", nil
}
