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
)
