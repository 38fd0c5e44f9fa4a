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
