package sim

import "math"

// Request is one inference request and what happened to it.
type Request struct {
	// ID is the request's index in its trace.
	ID int
	// Model names the model the request is for.
	Model string
	// In and Out are the prompt and generated token counts (Out ≥ 1).
	In, Out int
	// Arrival is when the request reached the gateway (ms).
	Arrival float64

	// FirstToken is when the first output token was produced (0: not yet).
	FirstToken float64
	// Finish is when the last token was produced (0: not yet).
	Finish float64
	// Dispatched is when the router handed the request to a replica.
	Dispatched float64
	// Admitted is when a replica first admitted it into its batch (0: not
	// yet); TTFT − (Admitted − Arrival) is vLLM's prefill time.
	Admitted float64
	// ColdStart is set when the request arrived while its model had no
	// ready replica and so waited for one to start.
	ColdStart bool
	// Preemptions counts how often the request was evicted from the KV
	// cache and recomputed.
	Preemptions int
	// Variant is the variant of the replica that served the request.
	Variant string

	// Scheduling state on a replica.
	generated   int   // tokens produced before the current admission
	admitStep   int64 // replica step at the end of which it was (re)admitted
	finishStep  int64 // replica step at the end of which it finishes
	admitSeq    int64 // admission order, for preemption (newest first)
	heapIndex   int
	hasFirstTok bool
	done        bool
}

// TTFT is the time to first token in ms (+Inf when none was produced).
func (r *Request) TTFT() float64 {
	if !r.hasFirstTok {
		return math.Inf(1)
	}
	return r.FirstToken - r.Arrival
}

// MeanITL is the mean inter-token latency in ms: the time from the first to
// the last token over the gaps between them (0 for one output token, +Inf
// when the request did not finish).
func (r *Request) MeanITL() float64 {
	if !r.done {
		return math.Inf(1)
	}
	if r.Out <= 1 {
		return 0
	}
	return (r.Finish - r.FirstToken) / float64(r.Out-1)
}

// Done reports whether the request produced all its tokens.
func (r *Request) Done() bool { return r.done }
