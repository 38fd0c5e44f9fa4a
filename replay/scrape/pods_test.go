package scrape

import (
	"math"
	"testing"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// TestPodWindows: per-pod windows are the counter increases between the
// first and last scrape in the window and the mean of the gauges over the
// scrapes, per replica; a replica with one scrape in the window, or gone,
// has none.
func TestPodWindows(t *testing.T) {
	s, err := sim.New(sim.Config{Variants: []sim.VariantSpec{{Name: "v", Model: "m", KVTokens: 1 << 20, CostPerHour: 1,
		Profile: allocator.Profile{MaxBatchSize: 8, Alpha: 10, Beta: 1, Gamma: 20, Delta: 0.01}}}, StartupDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddReady("v", 2); err != nil {
		t.Fatal(err)
	}
	p := NewPods(10 * 60_000)
	id := 0
	var first map[int]sim.Counters
	for tick := 0.0; tick <= 120_000; tick += 15_000 {
		for ; float64(id)*50 < tick; id++ { // 20 req/s: the two replicas overlap
			s.RunUntil(float64(id) * 50)
			if err := s.Arrive(&sim.Request{ID: id, Model: "m", In: 100, Out: 20}); err != nil {
				t.Fatal(err)
			}
		}
		s.RunUntil(tick)
		p.Scrape(s)
		if tick == 60_000 {
			first = map[int]sim.Counters{}
			for _, rp := range s.Variant("v").Replicas() {
				first[rp.ID] = rp.Counters
			}
		}
	}
	ws := p.Windows(120_000, 60_000)
	if len(ws) != 2 {
		t.Fatalf("%d windows, want one per replica", len(ws))
	}
	for i, w := range ws {
		rp := s.Variant("v").Replicas()[i]
		c, a := rp.Counters, first[rp.ID]
		if w.Pod != rp.ID || w.Variant != "v" || w.Seconds != 60 ||
			w.Requests != float64(c.Success-a.Success) || w.TTFTCount != float64(c.TTFTCount-a.TTFTCount) ||
			math.Abs(w.PrefillSum-(c.PrefillSum-a.PrefillSum)) > 1e-9 || w.Requests == 0 {
			t.Errorf("pod %d: window %+v, counters %+v → %+v", rp.ID, w, a, c)
		}
		if w.PrefillSum <= 0 || w.PrefillSum > w.TTFTSum {
			t.Errorf("pod %d: prefill %v must be positive and within the TTFT %v", rp.ID, w.PrefillSum, w.TTFTSum)
		}
	}
	// A window holding only the last scrape has nothing to difference.
	if ws := p.Windows(120_000, 1); len(ws) != 0 {
		t.Errorf("windows from a single scrape: %+v", ws)
	}
	// Scaled down to one: the drained replica is gone from the next windows.
	if err := s.Scale("v", 1); err != nil {
		t.Fatal(err)
	}
	s.RunUntil(400_000)
	p.Scrape(s)
	s.RunUntil(415_000)
	p.Scrape(s)
	if ws := p.Windows(415_000, 60_000); len(ws) != 1 {
		t.Errorf("%d windows after the scale-down, want 1", len(ws))
	}
}

func TestRunningVar(t *testing.T) {
	samples := func(running ...int) []PodSample {
		var out []PodSample
		for _, r := range running {
			out = append(out, PodSample{Running: r})
		}
		return out
	}
	cases := map[string]struct {
		samples []PodSample
		wantVar float64
		wantOK  bool
	}{
		"no scrape":         {},
		"one scrape":        {samples: samples(4)},
		"two scrapes":       {samples: samples(2, 4), wantVar: 2, wantOK: true},
		"a steady batch":    {samples: samples(7, 7, 7, 7), wantVar: 0, wantOK: true},
		"over n − 1, not n": {samples: samples(1, 2, 3, 4, 5), wantVar: 2.5, wantOK: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v, ok := runningVar(tc.samples)
			if ok != tc.wantOK || math.Abs(v-tc.wantVar) > 1e-12 {
				t.Errorf("got %v, %v; want %v, %v", v, ok, tc.wantVar, tc.wantOK)
			}
		})
	}
}
