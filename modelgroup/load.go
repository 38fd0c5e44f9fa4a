package modelgroup

import (
	"context"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"
)

// Load is what a group's serving pods reported over the last interval.
type Load struct {
	// ArrivalRate is the model's request rate, requests per second.
	ArrivalRate float64
	// AvgInputTokens and AvgOutputTokens are tokens per request.
	AvgInputTokens  float64
	AvgOutputTokens float64
	// ObservedTTFT and ObservedITL are measured latencies in milliseconds (0 when unknown).
	ObservedTTFT float64
	ObservedITL  float64
	// RequestsInRetention is the number of requests within the scale-to-zero
	// retention period; nil when the source does not know it.
	RequestsInRetention *float64
	// ObservedAt is when the source read these values.
	ObservedAt time.Time
	// Waiting is the number of requests waiting at the inference gateway
	// for the model (its flow-control queue); set on readings that are not
	// Available too, as evidence of demand for a model without pods.
	Waiting float64
	// ServerWaiting is the number of requests waiting in the queues of the
	// model's servers (vLLM's num_requests_waiting, summed over its pods).
	// With Waiting it is the backlog the plan drains (BACKLOG_DRAIN_TIME).
	ServerWaiting float64
	// Pods is the number of pods reporting the model's metrics (0: unknown).
	Pods int
	// DataSince is when the data behind RequestsInRetention begins: the
	// start of the retention window when the data covers it all, else the
	// first sample held (zero: unknown, no constraint).
	DataSince time.Time
}

// LoadReading is a Load, or why there is none. Missing data is never zero load:
// a reading that is not Available makes the controller hold replicas.
type LoadReading struct {
	Load      Load
	Available bool
	// Reason is a MetricsAvailable condition reason (api/v1alpha1 ConditionReason*).
	Reason  string
	Message string
}

// LoadSource gives the current load of a model group. Implementations answer
// from memory: reading is done in bulk for all groups, never per call.
type LoadSource interface {
	// Load returns the group's load; retention is the scale-to-zero retention
	// period in force for the group, for sources that count recent requests.
	Load(ctx context.Context, key Key, retention time.Duration) LoadReading
}

// LoadNotifier is implemented by sources that refresh in the background; the
// channel carries the groups whose load moved beyond the source's tolerance.
type LoadNotifier interface {
	Changes() <-chan event.TypedGenericEvent[Key]
}
