package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Mode says whether the operator acts on its decisions.
// +kubebuilder:validation:Enum=Auto;Preview
type Mode string

const (
	// ModeAuto computes decisions and actuates them.
	ModeAuto Mode = "Auto"
	// ModePreview computes and reports decisions but never actuates them.
	ModePreview Mode = "Preview"
)

// ScaleTargetRef names the scalable workload a variant runs as. Any kind with a
// /scale subresource works.
type ScaleTargetRef struct {
	// APIVersion of the target, e.g. apps/v1.
	// +kubebuilder:default="apps/v1"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`

	// Kind of the target, e.g. Deployment.
	// +kubebuilder:default=Deployment
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Kind string `json:"kind,omitempty"`

	// Name of the target in the VariantAutoscaling's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// DecodeParameters model the time of one decode step: Td(n) = alpha + beta*n ms,
// for a batch of n requests.
type DecodeParameters struct {
	// Alpha is the fixed part of a decode step, in milliseconds; greater than 0.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('[1-9]')",message="must be greater than 0"
	// +required
	Alpha string `json:"alpha"`

	// Beta is the added time of a decode step per request in the batch, in milliseconds.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +required
	Beta string `json:"beta"`
}

// PrefillParameters model the time of a prefill: Tp(n) = gamma + delta*in*n ms,
// for n requests with `in` input tokens each.
type PrefillParameters struct {
	// Gamma is the fixed part of a prefill, in milliseconds.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +required
	Gamma string `json:"gamma"`

	// Delta is the prefill time per input token per request in the batch, in milliseconds.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)(\.[0-9]+)?$`
	// +kubebuilder:validation:MaxLength=32
	// +required
	Delta string `json:"delta"`
}

// Profile is the measured performance of one replica of the variant.
type Profile struct {
	// MaxBatchSize is the largest number of requests a replica serves at once.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4096
	// +required
	MaxBatchSize int32 `json:"maxBatchSize"`

	// Decode parameters, in milliseconds.
	// +required
	Decode DecodeParameters `json:"decode"`

	// Prefill parameters, in milliseconds.
	// +required
	Prefill PrefillParameters `json:"prefill"`
}

// VariantAutoscalingSpec describes one variant of a model: how it is served and
// the bounds within which the operator sizes it.
// +kubebuilder:validation:XValidation:rule="!has(self.profileSource) || self.profileSource != 'Spec' || has(self.profile)",message="spec.profile is required when profileSource is Spec; to learn the profile from the metrics instead, set profileSource to Auto or Learned"
// +kubebuilder:validation:XValidation:rule="!has(self.maxReplicas) || self.maxReplicas >= self.minReplicas",message="maxReplicas must be greater than or equal to minReplicas"
type VariantAutoscalingSpec struct {
	// ScaleTargetRef is the workload this variant runs as.
	// +required
	ScaleTargetRef ScaleTargetRef `json:"scaleTargetRef"`

	// ModelID is the model's name as the serving engine reports it (the
	// model_name label of vLLM metrics). Variants sharing a modelID in one
	// namespace form a model group and share its load.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	ModelID string `json:"modelID"`

	// Accelerator is the accelerator type, e.g. H100; it keys the unit cost.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +required
	Accelerator string `json:"accelerator"`

	// AcceleratorCount is the number of accelerators per replica.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1024
	// +optional
	AcceleratorCount int32 `json:"acceleratorCount,omitempty"`

	// VariantCost is the cost of one replica per hour, as a decimal string
	// below 1000000000 with at most 9 fractional digits. When absent it is the
	// accelerator's unit cost times acceleratorCount.
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]{0,8})(\.[0-9]{1,9})?$`
	// +kubebuilder:validation:MaxLength=19
	// +optional
	VariantCost string `json:"variantCost,omitempty"`

	// ServiceClass names the SLO class. When absent it is resolved from the
	// service-classes config by model.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ServiceClass string `json:"serviceClass,omitempty"`

	// Profile is the measured performance of one replica. Optional: without
	// it the operator learns the profile from the variant's metrics
	// (profileSource Auto or Learned) and holds the replicas until the learned
	// profile is good enough (status.learnedProfile, condition ProfileLearned).
	// +optional
	Profile Profile `json:"profile,omitzero"`

	// MinReplicas is the lowest replica count the operator sets; at most
	// MaxReplicasLimit, and the operator also refuses a minimum above its
	// per-variant ceiling (MAX_REPLICAS_PER_VARIANT).
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MinReplicas int32 `json:"minReplicas"`

	// MaxReplicas is the highest replica count the operator sets, at most
	// MaxReplicasLimit. When absent the operator's per-variant ceiling
	// (MAX_REPLICAS_PER_VARIANT) is the maximum.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	// +optional
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`

	// Mode is Auto (decide and actuate) or Preview (decide and report only).
	// +kubebuilder:default=Auto
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// ProfileSource says which profile the operator plans with: Spec (only
	// spec.profile), Learned (only the profile learned from the metrics) or
	// Auto (the learned one once it is good enough, else spec.profile).
	// +kubebuilder:default=Auto
	// +optional
	ProfileSource ProfileSource `json:"profileSource,omitempty"`
}

// MaxReplicasLimit is the largest minReplicas or maxReplicas the API accepts:
// a typo such as minReplicas: 100000 is refused at admission.
const MaxReplicasLimit = 10000

// DecisionReason says which rule produced the desired replica count.
type DecisionReason string

// Decision reasons, one per rule of the allocator's policy.
const (
	ReasonLoadChange      DecisionReason = "LoadChange"
	ReasonOptimal         DecisionReason = "Optimal"
	ReasonScaleToZero     DecisionReason = "ScaleToZero"
	ReasonKeepCheapest    DecisionReason = "KeepCheapest"
	ReasonCapacityLimited DecisionReason = "CapacityLimited"
	ReasonBounds          DecisionReason = "Bounds"
	ReasonMetricsMissing  DecisionReason = "MetricsMissing"
	ReasonStabilized      DecisionReason = "Stabilized"
	ReasonCostHysteresis  DecisionReason = "CostHysteresis"
	ReasonInfeasible      DecisionReason = "Infeasible"
	ReasonTargetConflict  DecisionReason = "TargetConflict"
	// ReasonScaleUpLimited: the scale-up rate limit (SCALE_UP_MAX_REPLICAS,
	// SCALE_UP_MAX_PERCENT per SCALE_UP_PERIOD) held the increase back.
	ReasonScaleUpLimited DecisionReason = "ScaleUpLimited"
	// ReasonCeiling: the operator-wide ceiling MAX_REPLICAS_PER_VARIANT, not
	// spec.maxReplicas, capped the count.
	ReasonCeiling DecisionReason = "Ceiling"
	// ReasonMetricsImplausible: the measured load jumped beyond what is
	// plausible (MAX_LOAD_JUMP_FACTOR); replicas are held until it is confirmed.
	ReasonMetricsImplausible DecisionReason = "MetricsImplausible"
	// ReasonScaleFromZero: the model had no replica and requests wait or
	// arrive at the inference gateway; the cheapest variant gets one.
	ReasonScaleFromZero DecisionReason = "ScaleFromZero"
)

// Decision is the operator's latest decision for this variant. Decimal values
// are strings, rounded so that unchanged inputs give unchanged text.
type Decision struct {
	// LoadShare is the part of the model's demand assigned to this variant, in
	// requests per second: of its arrival rate and of the requests waiting,
	// served within BACKLOG_DRAIN_TIME.
	// +optional
	LoadShare string `json:"loadShare,omitempty"`

	// PredictedTTFT is the predicted time to first token at the assigned load, in milliseconds.
	// +optional
	PredictedTTFT string `json:"predictedTTFT,omitempty"`

	// PredictedITL is the predicted inter-token latency at the assigned load, in milliseconds.
	// +optional
	PredictedITL string `json:"predictedITL,omitempty"`

	// CostPerHour is the cost of the desired replicas per hour.
	// +optional
	CostPerHour string `json:"costPerHour,omitempty"`

	// Reason names the rule that produced the desired replica count.
	// +optional
	Reason DecisionReason `json:"reason,omitempty"`

	// LastChangeTime is when the desired replica count last changed.
	// +optional
	LastChangeTime *metav1.Time `json:"lastChangeTime,omitempty"`
}

// VariantAutoscalingStatus is what the operator observed and decided.
type VariantAutoscalingStatus struct {
	// ObservedGeneration is the spec generation the status was computed from.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// CurrentReplicas is the target's replica count when last observed.
	// +optional
	CurrentReplicas int32 `json:"currentReplicas,omitempty"`

	// DesiredReplicas is the replica count the operator decided on.
	// +optional
	DesiredReplicas *int32 `json:"desiredReplicas,omitempty"`

	// Decision explains the desired replica count.
	// +optional
	Decision *Decision `json:"decision,omitempty"`

	// LearnedProfile is the profile learned from the variant's metrics, with
	// its uncertainty.
	// +optional
	LearnedProfile *LearnedProfile `json:"learnedProfile,omitempty"`

	// Conditions: TargetResolved, MetricsAvailable, Optimized and ProfileLearned.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// VariantAutoscaling sizes one variant (one way of serving a model) of an LLM
// inference service against the model's latency SLOs.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=va,categories=all
// +kubebuilder:printcolumn:name="Model",type=string,JSONPath=`.spec.modelID`
// +kubebuilder:printcolumn:name="Accelerator",type=string,JSONPath=`.spec.accelerator`
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.currentReplicas`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredReplicas`
// +kubebuilder:printcolumn:name="Cost/h",type=string,JSONPath=`.status.decision.costPerHour`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Optimized")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.decision.reason`,priority=1
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.scaleTargetRef.name`,priority=1
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.status.conditions[?(@.type=="ProfileLearned")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type VariantAutoscaling struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec VariantAutoscalingSpec `json:"spec"`

	// +optional
	Status VariantAutoscalingStatus `json:"status,omitempty"`
}

// VariantAutoscalingList is a list of VariantAutoscaling objects.
//
// +kubebuilder:object:root=true
type VariantAutoscalingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VariantAutoscaling `json:"items"`
}
