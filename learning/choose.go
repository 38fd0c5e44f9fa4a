package learning

import (
	"fmt"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

// Source says which profile a variant is planned with.
type Source string

// Sources of a plan's profile.
const (
	// SourceLearned: the learned profile.
	SourceLearned Source = "Learned"
	// SourceSpec: spec.profile.
	SourceSpec Source = "Spec"
	// SourceHold: no usable profile: the variant's replicas are held.
	SourceHold Source = "Hold"
)

// Choice is the profile to plan a variant with and the ProfileLearned
// condition that goes with it.
type Choice struct {
	Source Source
	// Params is the profile to plan with (the estimate for SourceLearned,
	// the spec for SourceSpec; unset for SourceHold).
	Params estimator.Params
	// Learned is the ProfileLearned condition status; Reason and Message
	// say why (Reason is an llmdv1alpha1.ConditionReason... constant).
	Learned bool
	Reason  string
	Message string
	// Held, for SourceHold, says why in words that stay put while the
	// estimate moves (Message carries its numbers), for the Optimized
	// condition: a held VA's status is then not rewritten at every refresh.
	Held string
}

// Choose applies the documented rule (docs/learned-profiles.md) for one
// variant: spec is nil when the VA has no spec profile; est is the current
// estimate, op where the plan would run it.
//
//	Spec:    spec.profile (hold without one); ProfileLearned False, LearningDisabled.
//	Learned: the estimate once Usable, else hold.
//	Auto:    the estimate once Usable; the estimate when the metrics
//	         contradict spec.profile; spec.profile; else hold.
func Choose(source llmdv1alpha1.ProfileSource, spec *estimator.Params, est estimator.Estimate, th estimator.Thresholds, op estimator.OperatingPoint) Choice {
	if source == "" {
		source = llmdv1alpha1.ProfileSourceAuto
	}
	if source == llmdv1alpha1.ProfileSourceSpec {
		c := Choice{Reason: llmdv1alpha1.ConditionReasonLearningDisabled, Message: "profileSource is Spec: the operator plans with spec.profile and learns nothing"}
		if spec == nil {
			c.Source, c.Message = SourceHold, c.Message+"; there is no spec.profile, so replicas are held"
			c.Held = c.Message
			return c
		}
		c.Source, c.Params = SourceSpec, *spec
		return c
	}
	r := est.Readiness(th, op)
	reason := map[estimator.ReadinessReason]string{
		estimator.ReasonLearned:          llmdv1alpha1.ConditionReasonLearned,
		estimator.ReasonNotEnoughSamples: llmdv1alpha1.ConditionReasonNotEnoughSamples,
		estimator.ReasonNarrowBatchRange: llmdv1alpha1.ConditionReasonNarrowBatchRange,
		estimator.ReasonUncertain:        llmdv1alpha1.ConditionReasonUncertain,
	}[r.Reason]
	if r.Usable {
		return Choice{Source: SourceLearned, Params: est.Params, Learned: true, Reason: reason, Message: r.Message}
	}
	if source == llmdv1alpha1.ProfileSourceAuto && spec != nil {
		if bad, why := est.Contradiction(*spec, 0); bad {
			return Choice{Source: SourceLearned, Params: est.Params, Reason: llmdv1alpha1.ConditionReasonSpecContradicted,
				Message: fmt.Sprintf("planning with the learned profile: %s; not yet learned: %s", why, r.Message)}
		}
		return Choice{Source: SourceSpec, Params: *spec, Reason: reason, Message: "planning with spec.profile until the learned profile is good enough: " + r.Message}
	}
	what := "there is no spec.profile"
	if source == llmdv1alpha1.ProfileSourceLearned {
		what = "profileSource is Learned"
	}
	return Choice{Source: SourceHold, Reason: reason,
		Message: fmt.Sprintf("replicas are held: %s and the learned profile is not good enough yet: %s", what, r.Message),
		Held:    fmt.Sprintf("replicas are held: %s and the learned profile is not good enough yet (ProfileLearned: %s)", what, reason)}
}
