package v1alpha1

import (
	"errors"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProfileSource says which profile the operator plans a variant with.
// +kubebuilder:validation:Enum=Spec;Learned;Auto
type ProfileSource string

const (
	// ProfileSourceSpec plans with spec.profile only; nothing is learned.
	ProfileSourceSpec ProfileSource = "Spec"
	// ProfileSourceLearned plans with the learned profile only, once it is
	// good enough; until then replicas are held.
	ProfileSourceLearned ProfileSource = "Learned"
	// ProfileSourceAuto plans with the learned profile once it is good
	// enough or once the metrics contradict spec.profile, else with
	// spec.profile, else holds replicas (docs/learned-profiles.md).
	ProfileSourceAuto ProfileSource = "Auto"
)

// EffectiveProfileSource returns the profile source, treating an unset one
// as Auto.
func (s *VariantAutoscalingSpec) EffectiveProfileSource() ProfileSource {
	if s.ProfileSource == "" {
		return ProfileSourceAuto
	}
	return s.ProfileSource
}

// ProfileStandardErrors are the standard errors of the learned parameters,
// in milliseconds.
type ProfileStandardErrors struct {
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	Alpha string `json:"alpha"`
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	Beta string `json:"beta"`
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	Gamma string `json:"gamma"`
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	Delta string `json:"delta"`
}

// LearnedProfile is the profile the operator learned from the variant's
// serving metrics, with what it needs to resume after a restart: the
// operator keeps nothing else.
type LearnedProfile struct {
	// Decode parameters learned, in milliseconds.
	Decode DecodeParameters `json:"decode"`

	// Prefill parameters learned, in milliseconds.
	Prefill PrefillParameters `json:"prefill"`

	// StandardErrors of the four parameters, in milliseconds.
	StandardErrors ProfileStandardErrors `json:"standardErrors"`

	// DecodeCorrelation is the correlation of alpha and beta, in [-1, 1];
	// PrefillCorrelation that of gamma and delta.
	// +kubebuilder:validation:Pattern=`^-?(0|1)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	DecodeCorrelation string `json:"decodeCorrelation,omitempty"`
	// +kubebuilder:validation:Pattern=`^-?(0|1)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PrefillCorrelation string `json:"prefillCorrelation,omitempty"`

	// DecodeSamples and PrefillSamples count the observations (one per pod
	// and window) each relation accepted since it started or restarted.
	// +kubebuilder:validation:Minimum=0
	DecodeSamples int32 `json:"decodeSamples"`
	// +kubebuilder:validation:Minimum=0
	PrefillSamples int32 `json:"prefillSamples"`

	// BatchMin and BatchMax are the range of batch sizes observed.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	BatchMin string `json:"batchMin,omitempty"`
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	BatchMax string `json:"batchMax,omitempty"`

	// InputTokens is the typical prompt length of the observations.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	InputTokens string `json:"inputTokens,omitempty"`

	// BatchDispersion is the running gauge's variance over its mean, as the
	// observations have shown it: how far above the mean number in service
	// the batch a token sees is (1 for Poisson arrivals, less behind a
	// router that balances outstanding requests).
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	BatchDispersion string `json:"batchDispersion,omitempty"`

	// DecodeNoise and PrefillNoise are the relative residual standard
	// deviations of one observation (0.05 = 5%).
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	DecodeNoise string `json:"decodeNoise,omitempty"`
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +optional
	PrefillNoise string `json:"prefillNoise,omitempty"`

	// Prior names what learning started from: "spec" or the default of an
	// accelerator family.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Prior string `json:"prior,omitempty"`

	// LastUpdateTime is when the last observation was taken.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// ConditionProfileLearned is True when the learned profile is good enough to
// plan with (docs/learned-profiles.md).
const ConditionProfileLearned = "ProfileLearned"

// ProfileLearned reasons.
const (
	// ConditionReasonLearned: the learned profile meets the readiness rule.
	ConditionReasonLearned = "Learned"
	// ConditionReasonSpecContradicted: not yet good enough, but the metrics
	// contradict spec.profile, so the learned profile is used (Auto).
	ConditionReasonSpecContradicted = "SpecContradicted"
	// ConditionReasonNotEnoughSamples: too few observations so far.
	ConditionReasonNotEnoughSamples = "NotEnoughSamples"
	// ConditionReasonNarrowBatchRange: the batch sizes observed do not cover
	// the operating range.
	ConditionReasonNarrowBatchRange = "NarrowBatchRange"
	// ConditionReasonUncertain: the predictions are still too uncertain.
	ConditionReasonUncertain = "Uncertain"
	// ConditionReasonLearningDisabled: profileSource is Spec.
	ConditionReasonLearningDisabled = "LearningDisabled"
)

// ErrNoProfile is what Profile.Parse returns for a VA without spec.profile.
var ErrNoProfile = errors.New("spec.profile is absent and no learned profile is good enough yet: " +
	"the replicas are held until the profile is learned from the metrics (see the ProfileLearned condition)")

// IsZero reports whether the profile is absent (spec.profile omitted); it
// also makes encoding/json's omitzero leave an absent profile out.
func (p Profile) IsZero() bool { return p == Profile{} }
