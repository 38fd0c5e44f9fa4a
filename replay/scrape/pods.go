package scrape

import (
	"slices"

	"gonum.org/v1/gonum/stat"

	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// PodSample is one scrape of one replica's vLLM series: its cumulative
// counters and its two gauges at the scrape.
type PodSample struct {
	T        float64
	Counters sim.Counters
	// Running and Waiting are vllm:num_requests_running and
	// vllm:num_requests_waiting at the scrape.
	Running, Waiting int
}

// Pods keeps, per replica, the samples of the last Keep milliseconds: what
// Prometheus holds per pod, for the per-pod queries the profile estimator
// runs (issue 15). A replica is scraped while it is ready or draining, as
// a real pod is while it serves.
type Pods struct {
	Keep float64
	pods map[int]*podHistory
}

type podHistory struct {
	variant string
	samples []PodSample
}

// NewPods returns a per-pod scraper keeping keep ms of history.
func NewPods(keep float64) *Pods { return &Pods{Keep: keep, pods: map[int]*podHistory{}} }

// Scrape samples every ready or draining replica at the simulator's time
// and forgets pods with no sample within Keep.
func (p *Pods) Scrape(s *sim.Sim) {
	now := s.Now()
	for _, m := range s.Models() {
		for _, v := range m.Variants {
			for _, rp := range v.Replicas() {
				if rp.State != sim.Ready && rp.State != sim.Draining {
					continue
				}
				h := p.pods[rp.ID]
				if h == nil {
					h = &podHistory{variant: v.Name}
					p.pods[rp.ID] = h
				}
				h.samples = append(h.samples, PodSample{T: now, Counters: rp.Counters, Running: rp.Running(), Waiting: rp.Waiting()})
			}
		}
	}
	for id, h := range p.pods {
		cut := 0
		for cut < len(h.samples) && h.samples[cut].T < now-p.Keep {
			cut++
		}
		h.samples = h.samples[cut:]
		if len(h.samples) == 0 {
			delete(p.pods, id)
		}
	}
}

// PodWindow is one replica's series over a window, as PromQL over the
// window gives them: counter increases (increase(...)), gauge averages
// over the scrapes (avg_over_time(...)) and the running gauge's variance.
type PodWindow struct {
	Pod     int
	Variant string
	// Seconds is the time between the first and last sample used.
	Seconds float64
	// Counter increases.
	Requests, PromptTokens, GenerationTokens float64
	TTFTSum, TTFTCount, ITLSum, ITLCount     float64
	PrefillSum                               float64
	// Gauge averages over the samples in the window.
	Running, Waiting float64
	// RunningVar is the unbiased variance of the running gauge over the
	// scrapes a range selector takes (the window's start excluded), when
	// HasRunningVar: two scrapes or more.
	RunningVar    float64
	HasRunningVar bool
}

// Windows returns, for every pod with two or more samples in the window
// (ms) ending at the latest scrape (at), its window; pods ordered by ID.
func (p *Pods) Windows(at, window float64) []PodWindow {
	var out []PodWindow
	for id, h := range p.pods {
		var in []PodSample
		for _, s := range h.samples {
			if s.T > at-window-1e-6 && s.T <= at+1e-6 {
				in = append(in, s)
			}
		}
		if len(in) < 2 || in[len(in)-1].T < at-1e-6 {
			continue // too few samples, or the pod is gone
		}
		a, b := in[0], in[len(in)-1]
		w := PodWindow{
			Pod: id, Variant: h.variant, Seconds: (b.T - a.T) / 1000,
			Requests:         float64(b.Counters.Success - a.Counters.Success),
			PromptTokens:     float64(b.Counters.PromptTokens - a.Counters.PromptTokens),
			GenerationTokens: float64(b.Counters.GenerationTokens - a.Counters.GenerationTokens),
			TTFTSum:          b.Counters.TTFTSum - a.Counters.TTFTSum,
			TTFTCount:        float64(b.Counters.TTFTCount - a.Counters.TTFTCount),
			ITLSum:           b.Counters.ITLSum - a.Counters.ITLSum,
			ITLCount:         float64(b.Counters.ITLCount - a.Counters.ITLCount),
			PrefillSum:       b.Counters.PrefillSum - a.Counters.PrefillSum,
		}
		for _, s := range in {
			w.Running += float64(s.Running)
			w.Waiting += float64(s.Waiting)
		}
		w.Running /= float64(len(in))
		w.Waiting /= float64(len(in))
		w.RunningVar, w.HasRunningVar = runningVar(in[1:])
		out = append(out, w)
	}
	slices.SortFunc(out, func(x, y PodWindow) int { return x.Pod - y.Pod })
	return out
}

// runningVar is the unbiased variance of the running gauge over samples
// (ok false with fewer than two).
func runningVar(samples []PodSample) (v float64, ok bool) {
	if len(samples) < 2 {
		return 0, false
	}
	xs := make([]float64, len(samples))
	for i, s := range samples {
		xs[i] = float64(s.Running)
	}
	return stat.Variance(xs, nil), true
}
