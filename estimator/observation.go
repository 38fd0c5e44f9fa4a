package estimator

import "fmt"

// Observation is what one server (pod) showed over one window, reduced to
// the two linear relations. A zero ITL or Prefill means that relation was
// not observed in the window.
type Observation struct {
	// Batch is n, the mean number of requests in the batch a request was
	// served in (≥ 1).
	Batch float64
	// Others is the mean number of other requests in service when a
	// request is admitted, whose decode part the step that admits it pays
	// (physics.go; at most MaxBatch − 1 of them); 0: Batch − 1.
	Others float64
	// ITL is the mean inter-token latency, ms: the decode relation reads it
	// (physics.go).
	ITL float64
	// Prefill is the mean time from admission to first token, ms (TTFT
	// minus the queueing wait): the prefill relation reads it (physics.go).
	Prefill float64
	// InputTokens is the mean prompt length of the window's requests.
	InputTokens float64
	// Requests is the number of requests the means are over; it weighs the
	// observation (see Config.FullWeightRequests).
	Requests float64
	// RequestRate is the server's request rate, req/s, for the corrections
	// of physics.go (0: unknown, no correction).
	RequestRate float64
	// Dispersion is the window's own reading of the batch's excess over
	// Others: the running gauge's variance over its mean, when
	// HasDispersion. With Others set, the estimator reads the batch as
	// Others plus its running mean of these (dispersion.go), at most
	// MaxBatch (0: no cap), rather than Batch.
	Dispersion    float64
	HasDispersion bool
	MaxBatch      float64
}

// Limits of an observation. They are far beyond any real server; they
// exist so that no intermediate result of an update can overflow.
const (
	MaxBatch       = 1e5  // requests in a batch
	MaxLatencyMs   = 1e9  // about 11 days
	MaxInputTokens = 1e8  // tokens in a prompt
	MaxRequests    = 1e15 // requests in a window
	MaxRequestRate = 1e6  // requests per second on one server
)

func (o Observation) validate() error {
	if !finite(o.Batch, o.Others, o.ITL, o.Prefill, o.InputTokens, o.Requests, o.RequestRate, o.Dispersion, o.MaxBatch) {
		return fmt.Errorf("%w: observation has a non-finite value: %+v", ErrInvalidInput, o)
	}
	if o.Batch < 1 || o.Batch > MaxBatch || o.Others < 0 || o.Others > MaxBatch || o.ITL < 0 || o.ITL > MaxLatencyMs || o.Prefill < 0 || o.Prefill > MaxLatencyMs ||
		o.InputTokens < 0 || o.InputTokens > MaxInputTokens || o.Requests < 0 || o.Requests > MaxRequests ||
		o.RequestRate < 0 || o.RequestRate > MaxRequestRate || o.Dispersion < 0 || o.Dispersion > MaxBatch || o.MaxBatch < 0 || o.MaxBatch > MaxBatch {
		return fmt.Errorf("%w: observation out of range (batch, max batch and dispersion in [1, %g], [0, %g] and [0, %g], others in [0, %g], latencies in [0, %g] ms, input tokens in [0, %g], requests in [0, %g], request rate in [0, %g]): %+v",
			ErrInvalidInput, MaxBatch, MaxBatch, MaxBatch, MaxBatch, MaxLatencyMs, MaxInputTokens, MaxRequests, MaxRequestRate, o)
	}
	return nil
}

// maxWaitShare is the largest share of the TTFT the queueing wait may have
// for the window to observe the prefill.
const maxWaitShare = 0.5

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
	// PrefillTime is the mean of vllm:request_prefill_time_seconds (from
	// scheduling to the first token), ms; 0 when the server does not export
	// it (then the wait comes from the waiting gauge).
	PrefillTime float64
	// InService is the mean number of requests in service from counters:
	// the rate of the sums of the inter-token latencies (observed per step,
	// so their sum is the time requests spent decoding in the window) and of
	// the prefill times; 0 when not exported (then the running gauge is
	// used).
	InService float64
	// RunningVar is the variance of vllm:num_requests_running over the
	// window's scrapes (unbiased: over n − 1), when HasRunningVar (two
	// scrapes or more in the window).
	RunningVar    float64
	HasRunningVar bool
}

// FromWindow turns a server's window into an observation, for a server
// whose batch holds at most maxBatch requests (0 = unknown, no cap).
//
//   - Batch. Ls, the mean number of requests in service, comes from the
//     counters when the server exports them (InService), else from the
//     running gauge averaged over the window (a handful of scrapes:
//     noisy). The inter-token latency is a mean over tokens, and a step
//     of b requests gives b of them, so the batch it reads is the
//     size-biased mean of b: Ls + Var(b)/Ls. The variance comes from the
//     running gauge's scrapes (RunningVar). Without it, Poisson arrivals'
//     Var = Ls gives Ls + 1, the allocator's effective batch n_eff within 1%
//     up to 80% of μ(N) and 5% at 95% (replay/policy
//     TestWindowMatchesAllocatorModel). A router that sends each request to
//     the pod with the fewest outstanding ones keeps a pod's count much
//     steadier than Poisson (Var about Ls/5 on the validation day), and
//     Ls + 1 then reads the batch one request too high. At most maxBatch.
//     Batch is the window's own reading; the estimator reads Ls plus its
//     running mean of Var/Ls instead (dispersion.go), a few scrapes'
//     variance being mostly noise.
//   - Others. A request admitted finds Ls others in service on average
//     (arrivals see the time average), whatever their spread.
//   - Prefill. The prefill-time histogram gives it directly when the server
//     exports it (PrefillTime). Otherwise, by Little's law the mean wait in
//     the queue is Lq / X (Lq the waiting gauge, X the request rate), and
//     the time to first token is that wait plus the prefill. When
//     the wait is more than half the TTFT (a queue builds up) the prefill
//     is dropped: the wait is estimated from a few samples of a gauge, and
//     the difference would be mostly their noise.
//
// ok is false when the window holds nothing to learn from (no request, no
// latency). Non-finite or negative inputs are an error, never zeros.
func FromWindow(w Window, maxBatch int) (obs Observation, ok bool, err error) {
	if !finite(w.Requests, w.RequestRate, w.TTFT, w.ITL, w.Running, w.Waiting, w.InputTokens, w.PrefillTime, w.InService, w.RunningVar) {
		return Observation{}, false, fmt.Errorf("%w: window has a non-finite value: %+v", ErrInvalidInput, w)
	}
	if w.Requests < 0 || w.RequestRate < 0 || w.TTFT < 0 || w.ITL < 0 || w.Running < 0 || w.Waiting < 0 || w.InputTokens < 0 || w.PrefillTime < 0 || w.InService < 0 || w.RunningVar < 0 || maxBatch < 0 {
		return Observation{}, false, fmt.Errorf("%w: window has a negative value: %+v (max batch %d)", ErrInvalidInput, w, maxBatch)
	}
	if w.Requests == 0 || w.RequestRate == 0 || (w.TTFT == 0 && w.ITL == 0) {
		return Observation{}, false, nil
	}
	ls := w.Running
	if w.InService > 0 {
		ls = w.InService
	}
	obs = Observation{Others: ls, ITL: w.ITL, InputTokens: w.InputTokens, Requests: w.Requests, RequestRate: w.RequestRate,
		Dispersion: poissonDispersion, MaxBatch: float64(maxBatch)}
	if w.HasRunningVar && ls > 0 {
		obs.Dispersion, obs.HasDispersion = min(w.RunningVar/ls, MaxBatch), true
	}
	obs.Batch = obs.batchAt(obs.Dispersion)
	switch {
	case w.PrefillTime > 0:
		obs.Prefill = w.PrefillTime
	case w.TTFT > 0:
		// The wait comes from a few samples of a gauge: when it is most of
		// the TTFT, their difference is mostly the wait's sampling noise.
		wait := w.Waiting / w.RequestRate * 1000
		if wait <= maxWaitShare*w.TTFT {
			obs.Prefill = w.TTFT - wait
		}
	}
	return obs, obs.ITL > 0 || obs.Prefill > 0, nil
}
