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

// servingState is what one pod shows at a per-pod request rate (times in
// seconds).
type servingState struct {
	ttft, itl, prefill, inference float64
	running, waiting              float64
}

// servingAt is one pod at a request rate (req/s) with prompts of in and
// outputs of out tokens. The allocator's chain gives the queue and the
// wait in it; the step times follow the serving physics the estimator reads
// (estimator/physics.go): a step takes γ + δ·(prompt tokens admitted) when
// it admits requests, plus α + β·b when b requests decode.
func servingAt(p allocator.Profile, rate, in, out float64) servingState {
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
		b := n - 1
		k := 1.0
		for range 20 { // k (requests admitted together) and u (prefill share)
			u := math.Min(x*(p.Gamma/k+p.Delta*in), 0.8)
			itl = (p.Alpha + p.Beta*n) / (1 - u)
			k = 1 + x*itl
		}
		prefill = p.Gamma + p.Delta*in*k + p.Alpha*(1-math.Exp(-b)) + p.Beta*b
		ls = math.Min(x*(prefill+(math.Max(out, 1)-1)*itl), nMax)
		n = math.Min(ls+1, nMax)
	}
	return servingState{
		ttft: (pred.Wait + prefill) / 1000, itl: itl / 1000, prefill: prefill / 1000,
		inference: (prefill + (math.Max(out, 1)-1)*itl) / 1000,
		running:   ls, waiting: math.Max(pred.InSystem-pred.InService, 0),
	}
}
