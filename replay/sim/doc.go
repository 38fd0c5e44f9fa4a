// Package sim is a discrete-event simulator of LLM serving with
// iteration-level continuous batching, the way vLLM schedules: every step
// admits waiting requests (up to maxBatchSize and a KV-cache token budget),
// prefills them and runs one decode step for the requests already running.
// Step times come from the variant's profile: γ + δ·(prefilled tokens) for
// the prefill part and α + β·(running batch) for the decode part.
//
// A request router sends each arriving request to the ready replica of its
// model with the fewest outstanding requests; requests wait at the gateway
// while the model has no ready replica. Replicas become ready a start-up
// delay after they are requested, cost money from the moment they are
// requested, and drain (finish what they hold) when scaled down.
//
// The simulator jumps over runs of identical decode steps: between two
// events that change a replica's batch (an arrival it can admit, a request
// finishing, the KV cache filling up) every step has the same duration, so
// one event covers them all. A simulated day costs a few events per request,
// not one per decode step.
//
// Times are milliseconds from the start of the simulation; costs are per hour.
package sim
