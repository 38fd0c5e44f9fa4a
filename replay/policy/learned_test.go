package policy

import (
	"math"
	"testing"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/estimator"
)

// TestWindowMatchesAllocatorModel: a window showing exactly what the
// allocator's chain predicts (running = Ls, waiting = Lq) is read by
// estimator.FromWindow as the chain's effective batch (within 1% up to 80%
// of μ(N) for N = 64 and 256, 70% for N = 16, 5% at 95%) and its prefill
// Tp(n_eff) (the wait comes out exactly by Little's law).
func TestWindowMatchesAllocatorModel(t *testing.T) {
	for _, n := range []int{16, 64, 256} {
		p := allocator.Profile{MaxBatchSize: n, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}
		m, err := allocator.NewModel(p, 512, 128)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []float64{0.01, 0.1, 0.3, 0.5, 0.7, 0.8, 0.95} {
			pred, err := m.Predict(f * m.MaxRate())
			if err != nil {
				t.Fatal(err)
			}
			w := estimator.Window{Requests: 100, RequestRate: pred.Throughput, TTFT: pred.TTFT, ITL: pred.ITL,
				Running: pred.InService, Waiting: pred.InSystem - pred.InService, InputTokens: 512}
			obs, ok, err := estimator.FromWindow(w, n)
			if err != nil || !ok {
				t.Fatalf("N=%d f=%v: %v %v", n, f, ok, err)
			}
			tol := 0.01
			switch {
			case f > 0.8:
				tol = 0.05
			case n == 16 && f > 0.7:
				tol = 0.05
			}
			if d := math.Abs(obs.Batch-pred.Concurrency) / pred.Concurrency; d > tol {
				t.Errorf("N=%d at %.0f%% of μ(N): batch %v, n_eff %v (%.1f%% off, want within %.0f%%)", n, 100*f, obs.Batch, pred.Concurrency, 100*d, 100*tol)
			}
			if obs.Prefill > 0 {
				if want := m.Prefill(pred.Concurrency); math.Abs(obs.Prefill-want) > 1e-6*want {
					t.Errorf("N=%d f=%v: prefill %v, want Tp(n_eff) = %v", n, f, obs.Prefill, want)
				}
			}
		}
	}
}

// TestLoadMargin: a plan one replica above the true-profile plan, taken
// 0.2% of capacity below a replica step, is given by the true profile at
// 0.5% more load (the first rung of loadMargins past the step); a plan no
// load change within 10% gives has no margin.
func TestLoadMargin(t *testing.T) {
	p := allocator.Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	slo := allocator.SLO{TTFT: 500, ITL: 50}
	cache := allocator.NewCapacityCache(16)
	capacity, err := cache.Capacity(p, slo, 160, 350)
	if err != nil {
		t.Fatal(err)
	}
	in := allocator.Input{
		Variants: []allocator.Variant{{Name: "l40s", Cost: 1, Profile: p, Max: allocator.Unbounded, Current: 5}},
		SLO:      slo, Policy: allocator.DefaultPolicy(), Now: At(0),
		Load: allocator.Load{Available: true, Rate: 4.99 * capacity, AvgIn: 160, AvgOut: 350},
	}
	planAt := func(rate float64) allocator.Result {
		q := in
		q.Load.Rate = rate
		r, err := allocator.Plan(q, cache)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got := planAt(in.Load.Rate).Variants[0].Replicas; got != 5 {
		t.Fatalf("true-profile plan at 4.99 replicas' capacity: %d replicas, want 5", got)
	}
	for _, c := range []struct {
		rate float64
		want float64
	}{{5.01 * capacity, 0.005}, {9.5 * capacity, math.Inf(1)}} {
		got, err := loadMargin(in, planAt(c.rate), cache)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("plan at %.2f replicas' capacity: margin %v, want %v", c.rate/capacity, got, c.want)
		}
	}
}
