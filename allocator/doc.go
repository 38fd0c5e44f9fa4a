// Package allocator is the pure mathematics of the variant autoscaler: a
// queueing model of one replica of an LLM inference server, the capacity of a
// replica for a latency SLO, the cost-minimal allocation of replicas over the
// variants of one model, and the policy (scale-to-zero, stabilization, cost
// hysteresis, bounds) applied on top of that optimum.
//
// The package does no I/O, keeps no global state and never reads the clock:
// everything it needs, including the current time and the policy state of the
// previous run, is an argument, and everything it decides is a return value.
// It imports only the standard library and gonum, never Kubernetes packages.
//
// Units: arrival rates and capacities are requests per second; all times
// (profile parameters, SLO targets, predictions) are milliseconds; costs are
// per replica per hour.
//
// The entry point is [Plan]; [NewModel], [Model.Predict] and
// [Model.Capacity] expose the model on its own (the planner CLI and the
// tests use them). docs/model.md explains the maths.
package allocator
