package estimator

import (
	"fmt"
	"math"
)

// Observation is what one server (pod) showed over one window, reduced to
// the two linear relations. A zero ITL or Prefill means that relation was
// not observed in the window.
type Observation struct {
	// Batch is n, the mean number of requests in the batch a request was
	// served in (≥ 1).
	Batch float64
	// ITL is the mean inter-token latency, ms: an observation of Td(n).
	ITL float64
	// Prefill is the mean prefill time, ms (TTFT minus the queueing wait):
	// an observation of Tp(n).
	Prefill float64
	// InputTokens is the mean prompt length of the window's requests.
	InputTokens float64
	// Requests is the number of requests the means are over; it weighs the
	// observation (see Config.FullWeightRequests).
	Requests float64
}

// Limits of an observation. They are far beyond any real server; they
// exist so that no intermediate result of an update can overflow.
const (
	MaxBatch       = 1e5  // requests in a batch
	MaxLatencyMs   = 1e9  // about 11 days
	MaxInputTokens = 1e8  // tokens in a prompt
	MaxRequests    = 1e15 // requests in a window
)

func (o Observation) validate() error {
	if !finite(o.Batch, o.ITL, o.Prefill, o.InputTokens, o.Requests) {
		return fmt.Errorf("%w: observation has a non-finite value: %+v", ErrInvalidInput, o)
	}
	if o.Batch < 1 || o.Batch > MaxBatch || o.ITL < 0 || o.ITL > MaxLatencyMs || o.Prefill < 0 || o.Prefill > MaxLatencyMs ||
		o.InputTokens < 0 || o.InputTokens > MaxInputTokens || o.Requests < 0 || o.Requests > MaxRequests {
		return fmt.Errorf("%w: observation out of range (batch in [1, %g], latencies in [0, %g] ms, input tokens in [0, %g], requests in [0, %g]): %+v",
			ErrInvalidInput, MaxBatch, MaxLatencyMs, MaxInputTokens, MaxRequests, o)
	}
	return nil
}

// Window is one server's metrics over one window, as vLLM exports them
// (averages over the window of its histograms and gauges).
type Window struct {
	// Requests is the number of requests that finished in the window, and
	// RequestRate the same per second.
	Requests, RequestRate float64
	// TTFT and ITL are the mean time to first token and inter-token latency,
	// ms (histogram sum / count).
	TTFT, ITL float64
	// Running and Waiting are the mean of vllm:num_requests_running and
	// vllm:num_requests_waiting over the window.
	Running, Waiting float64
	// InputTokens is the mean prompt length (prompt tokens / requests).
	InputTokens float64
}

// FromWindow turns a server's window into an observation, for a server
// whose batch holds at most maxBatch requests (0 = unknown, no cap).
//
//   - Batch. The running gauge averaged over time is Ls, the mean number of
//     requests in service. A request's tokens are produced in batches that
//     include the request itself; with Poisson arrivals the batch a request
//     sees averages Ls + 1 below saturation (a request in service sees the
//     others plus itself), and at most maxBatch. n = min(Ls + 1, maxBatch)
//     is the allocator's effective batch n_eff within 1% except in deep
//     saturation (checked against the model in the tests).
//   - Prefill. By Little's law the mean wait in the queue is
//     Lq / X (Lq the waiting gauge, X the request rate), and the model's
//     TTFT is that wait plus Tp(n). A prefill that comes out at or below 0
//     (the wait estimate is noisy at a burst) is dropped.
//
// ok is false when the window holds nothing to learn from (no request, no
// latency). Non-finite or negative inputs are an error, never zeros.
func FromWindow(w Window, maxBatch int) (obs Observation, ok bool, err error) {
	if !finite(w.Requests, w.RequestRate, w.TTFT, w.ITL, w.Running, w.Waiting, w.InputTokens) {
		return Observation{}, false, fmt.Errorf("%w: window has a non-finite value: %+v", ErrInvalidInput, w)
	}
	if w.Requests < 0 || w.RequestRate < 0 || w.TTFT < 0 || w.ITL < 0 || w.Running < 0 || w.Waiting < 0 || w.InputTokens < 0 || maxBatch < 0 {
		return Observation{}, false, fmt.Errorf("%w: window has a negative value: %+v (max batch %d)", ErrInvalidInput, w, maxBatch)
	}
	if w.Requests == 0 || w.RequestRate == 0 || (w.TTFT == 0 && w.ITL == 0) {
		return Observation{}, false, nil
	}
	n := w.Running + 1
	if maxBatch > 0 {
		n = math.Min(n, float64(maxBatch))
	}
	obs = Observation{Batch: max(n, 1), ITL: w.ITL, InputTokens: w.InputTokens, Requests: w.Requests}
	if w.TTFT > 0 {
		wait := w.Waiting / w.RequestRate * 1000
		if p := w.TTFT - wait; p > 0 {
			obs.Prefill = p
		}
	}
	return obs, obs.ITL > 0 || obs.Prefill > 0, nil
}
