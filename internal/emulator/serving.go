package emulator

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// The per-pod series the profile estimator reads besides the latencies
// (docs/learned-profiles.md): vLLM's batch gauges and its V1 request-phase
// histograms.
const (
	MetricRunning       = "vllm:num_requests_running"
	MetricWaiting       = "vllm:num_requests_waiting"
	MetricPrefillTime   = "vllm:request_prefill_time_seconds"
	MetricInferenceTime = "vllm:request_inference_time_seconds"
)

// requestPhaseBuckets are vLLM's buckets of the request-phase histograms.
var requestPhaseBuckets = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}

// serving holds the per-pod batch gauges and request-phase histograms.
type serving struct {
	running, waiting   *prometheus.GaugeVec
	prefill, inference *prometheus.HistogramVec
}

func newServing(reg prometheus.Registerer, labels []string) *serving {
	s := &serving{
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricRunning, Help: "Number of requests in model execution batches."}, labels),
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricWaiting, Help: "Number of requests waiting to be processed."}, labels),
		prefill: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricPrefillTime,
			Help: "Histogram of time spent in PREFILL phase for request.", Buckets: requestPhaseBuckets}, labels),
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: MetricInferenceTime,
			Help: "Histogram of time spent in RUNNING phase for request.", Buckets: requestPhaseBuckets}, labels),
	}
	reg.MustRegister(s.running, s.waiting, s.prefill, s.inference)
	return s
}

// servingState is what one server shows at a per-server request rate
// (times in seconds); saturated when its batch is full and more is offered
// than it can serve.
type servingState struct {
	ttft, itl, prefill, inference float64
	running, waiting              float64
	saturated                     bool
}

// servingAt is one server at a request rate (req/s) with prompts of in and
// outputs of out tokens. The allocator's chain gives the queue and the
// wait in it; the step times follow the serving physics the estimator reads
// (estimator/physics.go): a step takes γ + δ·(prompt tokens admitted) when
// it admits requests, plus α + β·b when b requests decode. At or beyond
// the server's capacity (saturatedAt) it shows its batch full.
func servingAt(p allocator.Profile, rate, in, out float64) servingState {
	if full, capacity := saturatedAt(p, in, out); rate >= capacity {
		return full
	}
	m, err := allocator.NewModel(p, in, math.Max(out, 1))
	if err != nil {
		return servingState{}
	}
	pred, err := m.Predict(math.Min(rate, allocator.MaxRateLimit))
	if err != nil {
		return servingState{}
	}
	// The batch, the step times and the time each request spends in the
	// batch depend on each other: the fixed point of n = Ls + 1 with
	// Ls = X·(prefill + (out − 1)·ITL) (Little's law), starting from the
	// chain's batch.
	x := pred.Throughput / 1000 // req/ms
	nMax := float64(p.MaxBatchSize)
	n := math.Min(pred.InService+1, nMax)
	var itl, prefill, ls float64
	for range 100 {
		itl, prefill = stepTimes(p, x, n, in)
		ls = math.Min(x*(prefill+(math.Max(out, 1)-1)*itl), nMax)
		n = math.Min(ls+1, nMax)
	}
	return servingState{
		ttft: (pred.Wait + prefill) / 1000, itl: itl / 1000, prefill: prefill / 1000,
		inference: (prefill + (math.Max(out, 1)-1)*itl) / 1000,
		running:   ls, waiting: math.Max(pred.InSystem-pred.InService, 0),
	}
}

// saturatedAt is one server whose batch is held full because more is
// offered than it can serve, and its capacity (req/s): requests finish at
// the fixed point X = N / (prefill + (out − 1)·ITL) of the step times at
// the batch limit N. What it cannot serve waits (the caller's queue), so
// the TTFT here is the prefill alone.
func saturatedAt(p allocator.Profile, in, out float64) (servingState, float64) {
	n, o := float64(p.MaxBatchSize), math.Max(out, 1)
	var x, itl, prefill float64 // x in req/ms
	for range 100 {
		itl, prefill = stepTimes(p, x, n, in)
		x = n / (prefill + (o-1)*itl)
	}
	return servingState{
		ttft: prefill / 1000, itl: itl / 1000, prefill: prefill / 1000,
		inference: (prefill + (o-1)*itl) / 1000, running: n, saturated: true,
	}, x * 1000
}

// stepTimes returns the mean decode step (the ITL) and the step that admits
// a request (its prefill time), ms, of a server finishing x req/ms with n
// requests in its batch: k requests are admitted together and the prefill
// steps take a share u of the time.
func stepTimes(p allocator.Profile, x, n, in float64) (itl, prefill float64) {
	k := 1.0
	for range 20 {
		u := math.Min(x*(p.Gamma/k+p.Delta*in), 0.8)
		itl = (p.Alpha + p.Beta*n) / (1 - u)
		k = 1 + x*itl
	}
	b := n - 1
	return itl, p.Gamma + p.Delta*in*k + p.Alpha*(1-math.Exp(-b)) + p.Beta*b
}

// Capacity is the rate (req/s) one server with this profile finishes
// requests of in prompt and out output tokens at when offered more: past
// it, requests queue in the pod (vllm:num_requests_waiting).
func (p Profile) Capacity(in, out float64) float64 {
	_, capacity := saturatedAt(p.allocator(), in, out)
	return capacity
}
