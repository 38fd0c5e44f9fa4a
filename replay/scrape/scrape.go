// Package scrape is the simulated Prometheus: it samples the simulator's
// vLLM-style counters and gauges at a fixed interval and answers windowed
// queries (rates, averages, increases) the way the operator's load source
// and the HPA/KEDA adapters would read them.
package scrape

import (
	"math"

	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// DefaultInterval is the scrape interval (15 s, in ms).
const DefaultInterval = 15_000.0

// ModelSample is one scrape of a model, summed over its pods.
type ModelSample struct {
	T        float64
	Counters sim.Counters
	// Arrived counts requests at the gateway (the endpoint picker's total).
	Arrived int64
	// Gateway is the number of requests waiting for a ready replica.
	Gateway int
	// Pods is the number of replicas exporting metrics (ready or draining);
	// Waiting the requests in their queues (vllm:num_requests_waiting).
	Pods, Waiting int
}

// VariantSample is one scrape of a variant's pods.
type VariantSample struct {
	T float64
	// Running and Waiting are summed over the variant's pods.
	Running, Waiting int
	// KV holds each ready pod's KV-cache usage (0..1).
	KV []float64
	// Ready is the number of ready pods; Desired the starting or ready ones.
	Ready, Desired int
}

// Scraper keeps the samples of the last Keep milliseconds.
type Scraper struct {
	Keep     float64
	models   map[string][]ModelSample
	variants map[string]VariantSample
}

// New returns a scraper that keeps keep ms of history.
func New(keep float64) *Scraper {
	return &Scraper{Keep: keep, models: map[string][]ModelSample{}, variants: map[string]VariantSample{}}
}

// Scrape samples every model and variant at the simulator's current time.
func (s *Scraper) Scrape(sm *sim.Sim) {
	now := sm.Now()
	for _, m := range sm.Models() {
		ms := ModelSample{T: now, Counters: m.Counters, Arrived: m.Arrived, Gateway: m.GatewayQueue()}
		for _, v := range m.Variants {
			vs := VariantSample{T: now, Desired: v.Desired()}
			for _, rp := range v.Replicas() {
				switch rp.State {
				case sim.Ready:
					vs.Ready++
					vs.KV = append(vs.KV, rp.KVUsage())
					fallthrough
				case sim.Draining:
					ms.Pods++
					ms.Waiting += rp.Waiting()
					vs.Running += rp.Running()
					vs.Waiting += rp.Waiting()
				}
			}
			s.variants[v.Name] = vs
		}
		s.models[m.Name] = append(s.models[m.Name], ms)
		hist := s.models[m.Name]
		cut := 0
		for cut < len(hist) && hist[cut].T < now-s.Keep {
			cut++
		}
		s.models[m.Name] = hist[cut:]
	}
}

// Variant returns the latest sample of a variant.
func (s *Scraper) Variant(name string) VariantSample { return s.variants[name] }

// Latest returns the latest sample of a model (ok false: none yet).
func (s *Scraper) Latest(model string) (ModelSample, bool) {
	h := s.models[model]
	if len(h) == 0 {
		return ModelSample{}, false
	}
	return h[len(h)-1], true
}

// Load is a model's load as the operator's Prometheus source reads it.
type Load struct {
	// Available is false when the series are missing (no pod exports
	// metrics, or fewer than two samples in the window).
	Available bool
	// Rate is the completion rate, req/s (rate(vllm:request_success_total));
	// QueueGrowth the growth of the replicas' queues over the window, req/s
	// (vllm:num_requests_waiting), which the operator adds (loadsource's
	// arrivalRate reads the same as the queue's slope).
	Rate, QueueGrowth float64
	// GatewayRate is the arrival rate at the gateway, req/s.
	GatewayRate float64
	// AvgIn and AvgOut are the average prompt and generation tokens of the
	// requests finished in the window (0 when none).
	AvgIn, AvgOut float64
}

// Arrivals is the rate at which requests reached the replicas, req/s: the
// rate the operator sizes for when it has no gateway's.
func (l Load) Arrivals() float64 { return math.Max(l.Rate+l.QueueGrowth, 0) }

// Load reads a model's load over a window (ms) ending at the latest sample.
// As a real source it needs at least two samples with pods exporting
// metrics in the window, the latest among them.
func (s *Scraper) Load(model string, window float64) Load {
	h := s.models[model]
	if len(h) == 0 {
		return Load{}
	}
	last := h[len(h)-1]
	first := -1
	for i, x := range h {
		if x.T > last.T-window-1e-6 && x.Pods > 0 {
			first = i
			break
		}
	}
	if last.Pods == 0 || first < 0 || first == len(h)-1 {
		return Load{}
	}
	a := h[first]
	dt := (last.T - a.T) / 1000
	n := float64(last.Counters.Success - a.Counters.Success)
	l := Load{Available: true, Rate: n / dt, QueueGrowth: float64(last.Waiting-a.Waiting) / dt, GatewayRate: float64(last.Arrived-a.Arrived) / dt}
	if n > 0 {
		l.AvgIn = float64(last.Counters.PromptTokens-a.Counters.PromptTokens) / n
		l.AvgOut = math.Max(float64(last.Counters.GenerationTokens-a.Counters.GenerationTokens)/n, 1)
	}
	return l
}

// Increase is the number of requests finished within the window (ms) ending
// at the latest sample, from the samples held (nil when there are fewer
// than two).
func (s *Scraper) Increase(model string, window float64) *float64 {
	h := s.models[model]
	if len(h) < 2 {
		return nil
	}
	last := h[len(h)-1]
	for _, x := range h {
		if x.T >= last.T-window-1e-6 {
			d := float64(last.Counters.Success - x.Counters.Success)
			return &d
		}
	}
	return nil
}
