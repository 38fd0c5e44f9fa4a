package scrape

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// TestLoadArrivals: the arrival rate the operator sizes for is the
// completions plus the growth of the replicas' queues over the window;
// the completions alone are what the predecessor reads.
func TestLoadArrivals(t *testing.T) {
	sample := func(t float64, success int64, waiting int) ModelSample {
		return ModelSample{T: t, Counters: sim.Counters{Success: success, PromptTokens: 100 * success, GenerationTokens: 10 * success}, Pods: 1, Waiting: waiting}
	}
	cases := map[string]struct {
		history                []ModelSample
		wantRate, wantArrivals float64
	}{
		"under capacity": {history: []ModelSample{sample(0, 0, 0), sample(60_000, 600, 0)}, wantRate: 10, wantArrivals: 10},
		"queue growing":  {history: []ModelSample{sample(0, 0, 5), sample(60_000, 600, 305)}, wantRate: 10, wantArrivals: 15},
		"queue draining": {history: []ModelSample{sample(0, 0, 305), sample(60_000, 600, 5)}, wantRate: 10, wantArrivals: 5},
		// A queue emptied by scale-down or aborts never reads as negative load.
		"queue dropped": {history: []ModelSample{sample(0, 0, 900), sample(60_000, 60, 0)}, wantRate: 1, wantArrivals: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := New(120_000)
			s.models["m"] = tc.history
			l := s.Load("m", 60_000)
			got := []float64{l.Rate, l.Arrivals()}
			if diff := cmp.Diff([]float64{tc.wantRate, tc.wantArrivals}, got); diff != "" {
				t.Errorf("rate, arrivals (-want +got):\n%s", diff)
			}
		})
	}
}
