package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// With maxBatchSize 1, no prefill cost and β = 0, a replica serves one
// request at a time for (out−1)·α ms. With out − 1 geometric of mean m the
// service time is (nearly) exponential with mean m·α, so under Poisson
// arrivals the replica is an M/M/1 queue: mean wait (= TTFT, the prefill
// takes no time) ρ/(μ−λ) and mean response 1/(μ−λ).
//
// Tolerance: the run is seeded (deterministic); the sample means are
// compared with the closed form within 3.88 standard errors estimated by
// 20 batch means (3.88 is the two-sided 0.1% point of Student's t with 19
// degrees of freedom, so a correct simulator fails for fewer than 1 in 1000
// seeds). The geometric service time has E[S²] larger than the
// exponential's by a factor 1 + 1/(2m) = 1.0025, far inside the tolerance.
func TestMM1ClosedForm(t *testing.T) {
	const (
		alpha   = 1.0   // ms per decode step
		m       = 200.0 // mean decode steps: mean service 200 ms, μ = 5 req/s
		n       = 200_000
		batches = 20
		tCrit   = 3.88
	)
	mu := 1000 / (m * alpha)
	for _, rho := range []float64{0.5, 0.8} {
		lambda := rho * mu
		s, err := New(Config{Variants: []VariantSpec{{
			Name: "v", Model: "m", KVTokens: 1 << 40, CostPerHour: 1,
			Profile: allocator.Profile{MaxBatchSize: 1, Alpha: alpha},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AddReady("v", 1); err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(14, uint64(rho*100)))
		reqs := make([]*Request, n)
		now := 0.0
		for i := range reqs {
			now += rng.ExpFloat64() / lambda * 1000
			s.RunUntil(now)
			// out − 1 geometric on {0, 1, ...} with mean m.
			g := int(math.Floor(math.Log(1-rng.Float64()) / math.Log1p(-1/(m+1))))
			reqs[i] = &Request{ID: i, Model: "m", In: 0, Out: 1 + g}
			if err := s.Arrive(reqs[i]); err != nil {
				t.Fatal(err)
			}
		}
		for s.Pending() {
			s.RunUntil(s.Now() + 1e7)
		}
		warm := n / 20
		wantWait := rho / (mu - lambda) * 1000
		wantResp := 1 / (mu - lambda) * 1000
		wait, waitSE := batchMeans(reqs[warm:], batches, func(r *Request) float64 { return r.TTFT() })
		resp, respSE := batchMeans(reqs[warm:], batches, func(r *Request) float64 { return r.Finish - r.Arrival })
		t.Logf("ρ=%.1f: wait %.1f ± %.1f ms (M/M/1 %.1f), response %.1f ± %.1f ms (M/M/1 %.1f)", rho, wait, waitSE, wantWait, resp, respSE, wantResp)
		if math.Abs(wait-wantWait) > tCrit*waitSE {
			t.Errorf("ρ=%.1f: mean wait %.2f ms, M/M/1 gives %.2f; beyond %.1f standard errors (%.2f)", rho, wait, wantWait, tCrit, waitSE)
		}
		if math.Abs(resp-wantResp) > tCrit*respSE {
			t.Errorf("ρ=%.1f: mean response %.2f ms, M/M/1 gives %.2f; beyond %.1f standard errors (%.2f)", rho, resp, wantResp, tCrit, respSE)
		}
		// The standard error must be small enough for the check to mean
		// something: within 5% of the value.
		if waitSE > 0.05*wantWait {
			t.Errorf("ρ=%.1f: standard error %.2f ms is too large for a meaningful check", rho, waitSE)
		}
	}
}

// batchMeans returns the mean of f over rs and its standard error from
// the means of k consecutive batches.
func batchMeans(rs []*Request, k int, f func(*Request) float64) (mean, se float64) {
	size := len(rs) / k
	means := make([]float64, k)
	for b := range k {
		sum := 0.0
		for _, r := range rs[b*size : (b+1)*size] {
			sum += f(r)
		}
		means[b] = sum / float64(size)
		mean += means[b]
	}
	mean /= float64(k)
	v := 0.0
	for _, x := range means {
		v += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(v / float64(k-1) / float64(k))
}
