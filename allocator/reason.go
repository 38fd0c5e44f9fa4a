package allocator

// Reason names the rule that produced a variant's replica count. The values
// are exactly those of the API's DecisionReason, so the controller converts
// with a plain string cast.
type Reason string

// Reasons, one per rule of the policy.
const (
	// ReasonLoadChange: the optimum for the current load differs from the
	// current replicas.
	ReasonLoadChange Reason = "LoadChange"
	// ReasonOptimal: the current replicas are already the optimum.
	ReasonOptimal Reason = "Optimal"
	// ReasonScaleToZero: no request within the retention period; the
	// variant goes to its minimum.
	ReasonScaleToZero Reason = "ScaleToZero"
	// ReasonKeepCheapest: the optimum was no replica at all while scale to
	// zero is not (yet) allowed, so the cheapest variant keeps one.
	ReasonKeepCheapest Reason = "KeepCheapest"
	// ReasonCapacityLimited: the load needs more than every maximum allows;
	// the variant is at its maximum.
	ReasonCapacityLimited Reason = "CapacityLimited"
	// ReasonBounds: minReplicas or maxReplicas, not the load, set the count.
	ReasonBounds Reason = "Bounds"
	// ReasonMetricsMissing: no load data; the current replicas are held.
	ReasonMetricsMissing Reason = "MetricsMissing"
	// ReasonStabilized: a scale-down is held at the highest recommendation
	// within the stabilization window.
	ReasonStabilized Reason = "Stabilized"
	// ReasonScaleFromZero: the group had no replica and requests wait or
	// arrive at the gateway; the cheapest variant gets one before the load
	// can be measured.
	ReasonScaleFromZero Reason = "ScaleFromZero"
	// ReasonCostHysteresis: moving replicas to a cheaper mix would save less
	// than the threshold, so the mix without growth was kept.
	ReasonCostHysteresis Reason = "CostHysteresis"
	// ReasonInfeasible: the variant cannot meet the SLO (or its profile is
	// invalid); it carries no load and stays at its minimum.
	ReasonInfeasible Reason = "Infeasible"
)

// Outcome is the result of a plan for the whole model group. The values are
// those of the API's Optimized / MetricsAvailable condition reasons.
type Outcome string

// Outcomes.
const (
	// OutcomeSucceeded: the plan carries the load within the SLO (or the
	// group scaled to zero).
	OutcomeSucceeded Outcome = "Succeeded"
	// OutcomeCapacityLimited: even every variant at its maximum cannot carry
	// the load.
	OutcomeCapacityLimited Outcome = "CapacityLimited"
	// OutcomeInfeasible: there is load and no variant can meet the SLO.
	OutcomeInfeasible Outcome = "Infeasible"
	// OutcomeMetricsMissing: no load data; replicas were held.
	OutcomeMetricsMissing Outcome = "MetricsMissing"
)
