package v1alpha1

// Condition types of a VariantAutoscaling.
const (
	// ConditionTargetResolved is True when the scale target exists and this VA owns it.
	ConditionTargetResolved = "TargetResolved"
	// ConditionMetricsAvailable is True when the model group's load could be read.
	ConditionMetricsAvailable = "MetricsAvailable"
	// ConditionOptimized is True when the desired replicas come from a successful plan.
	ConditionOptimized = "Optimized"
)

// Condition reasons. Each says why a condition has its status.
const (
	// TargetResolved reasons.
	ConditionReasonTargetFound    = "TargetFound"
	ConditionReasonTargetNotFound = "TargetNotFound"
	ConditionReasonTargetConflict = "TargetConflict"
	// ConditionReasonTargetReadFailed: reading the scale target failed (an
	// error other than "not found"); TargetResolved and Optimized are
	// Unknown and the target is left as it is until a read succeeds.
	ConditionReasonTargetReadFailed = "TargetReadFailed"

	// MetricsAvailable reasons.
	ConditionReasonMetricsFound    = "MetricsFound"
	ConditionReasonMetricsMissing  = "MetricsMissing"
	ConditionReasonMetricsStale    = "MetricsStale"
	ConditionReasonPrometheusError = "PrometheusError"

	// Optimized reasons.
	ConditionReasonSucceeded       = "Succeeded"
	ConditionReasonInfeasible      = "Infeasible"
	ConditionReasonCapacityLimited = "CapacityLimited"
	ConditionReasonConfigInvalid   = "ConfigInvalid"
	ConditionReasonProfileInvalid  = "ProfileInvalid"
	// ConditionReasonMetricsUnavailable: replicas are held until the load is known.
	ConditionReasonMetricsUnavailable = "MetricsUnavailable"
	// ConditionReasonVariantInvalid: this VA's own values cannot be planned
	// (e.g. a cost or minReplicas out of the operator's range); it is left
	// out and the rest of its group is planned.
	ConditionReasonVariantInvalid = "VariantInvalid"
	// ConditionReasonApproximate: the group has more variants than the exact
	// optimizer takes (or its search hit its budget); the plan is a heuristic
	// one whose cost bound the message states.
	ConditionReasonApproximate = "Approximate"
	// ConditionReasonActuationNotAllowed: the operator refuses to actuate for
	// security reasons (e.g. the scale target has not opted in to /scale
	// actuation, see docs/reliability.md).
	ConditionReasonActuationNotAllowed = "ActuationNotAllowed"
)

// MaxConditionMessageLength bounds condition messages (and Event notes) the
// operator writes: the API server refuses a condition message above 32768
// bytes, which would fail the whole status write.
const MaxConditionMessageLength = 1024

// AnnotationScaledBy is the opt-in a scale target must carry before the
// operator patches its /scale subresource under --actuation=scale (unless the
// manager runs with --require-target-opt-in=false): the names of the VAs
// allowed to size it, comma-separated, or "*" for any VA of its namespace.
// Only someone who may edit the workload can set it, so a user who may create
// VariantAutoscalings but not scale Deployments cannot make the operator
// scale one for them.
const AnnotationScaledBy = "llmd.ai/scaled-by"
