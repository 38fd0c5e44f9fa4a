package allocator

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// h100 is a realistic-ish profile used across the tests.
var h100 = Profile{MaxBatchSize: 256, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}

func mustModel(t testing.TB, p Profile, in, out float64) Model {
	t.Helper()
	m, err := NewModel(p, in, out)
	if err != nil {
		t.Fatalf("NewModel(%+v, %v, %v): %v", p, in, out, err)
	}
	return m
}

func mustPredict(t testing.TB, m Model, rate float64) Prediction {
	t.Helper()
	p, err := m.Predict(rate)
	if err != nil {
		t.Fatalf("Predict(%v): %v", rate, err)
	}
	return p
}

func near(got, want, rel float64) bool {
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

// reference evaluates the chain literally as docs/model.md §1 states it: every
// state, log-space normalisation with floats.LogSumExp, T = L/X, S̄ = Ls/X,
// and n_eff from solving S(n_eff) = S̄. It needs rate > 0.
func reference(p Profile, in, out, rate float64) (ttft, itl, throughput float64) {
	n := p.MaxBatchSize
	k := n + 10*n
	a := math.Max(p.Gamma+(out-1)*p.Alpha, minFixedServiceMs)
	b := p.Delta*in + (out-1)*p.Beta
	mu := func(j int) float64 { m := float64(min(j, n)); return m / (a + b*m) } // req/ms
	lam := rate / 1000
	logp := make([]float64, k+1)
	for j := 1; j <= k; j++ {
		logp[j] = logp[j-1] + math.Log(lam) - math.Log(mu(j))
	}
	z := floats.LogSumExp(logp)
	var l, ls float64
	prob := make([]float64, k+1)
	for j := range logp {
		prob[j] = math.Exp(logp[j] - z)
		l += float64(j) * prob[j]
		ls += float64(min(j, n)) * prob[j]
	}
	x := lam * (1 - prob[k])
	t := l / x
	sbar := ls / x
	w := math.Max(t-sbar, 0)
	neff := float64(n)
	if b > 0 {
		neff = math.Min(math.Max((sbar-a)/b, 0), float64(n))
	}
	return w + p.Gamma + p.Delta*in*neff, p.Alpha + p.Beta*neff, x * 1000
}

func TestModelMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		p := Profile{
			MaxBatchSize: 1 + rng.IntN(64),
			Alpha:        0.5 + 20*rng.Float64(),
			Beta:         rng.Float64(),
			Gamma:        1 + 50*rng.Float64(),
			Delta:        0.05 * rng.Float64(),
		}
		in, out := float64(rng.IntN(4000)), float64(2+rng.IntN(500))
		m := mustModel(t, p, in, out)
		// From light load to twice saturation.
		rate := m.MaxRate() * 2 * rng.Float64()
		if rate == 0 {
			continue
		}
		got := mustPredict(t, m, rate)
		ttft, itl, x := reference(p, in, out, rate)
		if !near(got.TTFT, ttft, 1e-6) || !near(got.ITL, itl, 1e-9) || !near(got.Throughput, x, 1e-9) {
			t.Errorf("case %d %+v in=%v out=%v rate=%v: got TTFT %v ITL %v X %v, reference %v %v %v",
				i, p, in, out, rate, got.TTFT, got.ITL, got.Throughput, ttft, itl, x)
		}
	}
}

func TestModelHandChecked(t *testing.T) {
	tests := map[string]struct {
		p                        Profile
		in, out, rate            float64
		wantTTFT, wantITL, wantX float64
	}{
		// N=1, S = 10 ms, μ = 100 req/s, λ = 50 req/s: M/M/1/11 with ρ = 1/2.
		// L = 1 − 12/4095, p(K) = 1/4095, T = L/X = 19.946262823644357 ms.
		"M/M/1/K at half load": {
			p: Profile{MaxBatchSize: 1, Alpha: 10}, in: 0, out: 2, rate: 50,
			wantTTFT: 9.946262823644357, wantITL: 10, wantX: 50 * 4094.0 / 4095,
		},
		// Vanishing load: one request alone, TTFT = Tp(1) = 20 + 0.01·1000,
		// ITL = Td(1) = 5 + 0.5.
		"idle": {
			p: Profile{MaxBatchSize: 8, Alpha: 5, Beta: 0.5, Gamma: 20, Delta: 0.01}, in: 1000, out: 100, rate: 0,
			wantTTFT: 30, wantITL: 5.5, wantX: 0,
		},
		// Far beyond saturation the batch is always full: ITL = Td(8) = 9,
		// throughput = μ(8) = 8/S(8) = 8/(100 + 99·9) req/ms.
		"overloaded": {
			p: Profile{MaxBatchSize: 8, Alpha: 5, Beta: 0.5, Gamma: 20, Delta: 0.01}, in: 1000, out: 100, rate: 1e6,
			wantTTFT: math.NaN(), wantITL: 9, wantX: 8000.0 / 991,
		},
		// One output token, no prefill cost: the fixed service time floor of
		// 1 µs keeps everything finite; TTFT is 0 at low load.
		"zero service time": {
			p: Profile{MaxBatchSize: 4, Alpha: 1}, in: 0, out: 1, rate: 1,
			wantTTFT: 0, wantITL: 1, wantX: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := mustPredict(t, mustModel(t, tc.p, tc.in, tc.out), tc.rate)
			if !math.IsNaN(tc.wantTTFT) && !near(got.TTFT, tc.wantTTFT, 1e-9) {
				t.Errorf("TTFT = %v, want %v", got.TTFT, tc.wantTTFT)
			}
			if !near(got.ITL, tc.wantITL, 1e-9) {
				t.Errorf("ITL = %v, want %v", got.ITL, tc.wantITL)
			}
			if !near(got.Throughput, tc.wantX, 1e-9) {
				t.Errorf("throughput = %v, want %v", got.Throughput, tc.wantX)
			}
		})
	}
}

// With N = 1 the chain is M/M/1/K with K = 11; check against its closed form
// over a range of loads, including ρ > 1.
func TestModelMM1K(t *testing.T) {
	p := Profile{MaxBatchSize: 1, Alpha: 4, Beta: 1, Gamma: 30, Delta: 0.01}
	in, out := 500.0, 21.0
	m := mustModel(t, p, in, out)
	s := p.Gamma + p.Delta*in + (out-1)*(p.Alpha+p.Beta) // S(1), ms
	mu := 1000 / s                                       // req/s
	const k = 11
	for _, rho := range []float64{0.01, 0.3, 0.9, 0.999, 1.5, 4} {
		rate := rho * mu
		rk := math.Pow(rho, k+1)
		l := rho/(1-rho) - (k+1)*rk/(1-rk)
		pk := math.Pow(rho, k) * (1 - rho) / (1 - rk)
		x := rate * (1 - pk)
		wantT := l / x * 1000
		wantW := wantT - s
		got := mustPredict(t, m, rate)
		if !near(got.Response, wantT, 1e-9) || !near(got.Wait, wantW, 1e-9) || !near(got.Blocking, pk, 1e-9) {
			t.Errorf("ρ=%v: T %v W %v p(K) %v, want %v %v %v", rho, got.Response, got.Wait, got.Blocking, wantT, wantW, pk)
		}
		if !near(got.TTFT, wantW+p.Gamma+p.Delta*in, 1e-9) || got.ITL != p.Alpha+p.Beta || got.Concurrency != 1 {
			t.Errorf("ρ=%v: TTFT %v ITL %v n_eff %v", rho, got.TTFT, got.ITL, got.Concurrency)
		}
		if !near(got.InSystem, l, 1e-9) {
			t.Errorf("ρ=%v: L = %v, want %v", rho, got.InSystem, l)
		}
	}
}

func TestModelVanishingLoad(t *testing.T) {
	profiles := []Profile{h100, {MaxBatchSize: 1, Alpha: 3}, {MaxBatchSize: 4096, Alpha: 20, Beta: 0.01, Gamma: 100, Delta: 0.1}}
	for _, p := range profiles {
		for _, shape := range [][2]float64{{0, 1}, {1, 1}, {512, 128}, {8000, 2000}} {
			m := mustModel(t, p, shape[0], shape[1])
			for _, rate := range []float64{0, 1e-300, 1e-12, 1e-9} {
				got := mustPredict(t, m, rate)
				// Queueing adds about ρ·S(1) with ρ = rate·S(1) ≤ 1e-12·S(1)².
				tol := 1e-6 * math.Max(1, m.ServiceTime(1))
				if math.Abs(got.TTFT-m.Prefill(1)) > tol || math.Abs(got.ITL-m.Decode(1)) > tol {
					t.Errorf("%+v %v rate %v: TTFT %v ITL %v, want Tp(1) %v Td(1) %v", p, shape, rate, got.TTFT, got.ITL, m.Prefill(1), m.Decode(1))
				}
			}
		}
	}
}

func TestModelMonotoneInRate(t *testing.T) {
	profiles := []Profile{h100, {MaxBatchSize: 1, Alpha: 3, Beta: 1}, {MaxBatchSize: 64, Alpha: 20, Beta: 0.5, Gamma: 100, Delta: 0.1}}
	for _, p := range profiles {
		for _, shape := range [][2]float64{{0, 1}, {256, 64}, {4000, 1000}} {
			m := mustModel(t, p, shape[0], shape[1])
			prev := mustPredict(t, m, 0)
			for i := 1; i <= 400; i++ {
				rate := m.MaxRate() * 1.5 * float64(i) / 400
				got := mustPredict(t, m, rate)
				// A relative 1e-12 allows the last bits of a sum to wobble.
				if got.TTFT < prev.TTFT*(1-1e-12) || got.ITL < prev.ITL*(1-1e-12) {
					t.Fatalf("%+v %v: not monotone at rate %v: TTFT %v→%v ITL %v→%v", p, shape, rate, prev.TTFT, got.TTFT, prev.ITL, got.ITL)
				}
				prev = got
			}
		}
	}
}

func TestModelExtremeRatesStayFinite(t *testing.T) {
	for _, p := range []Profile{h100, {MaxBatchSize: 4096, Alpha: 1e-9}, {MaxBatchSize: 1, Alpha: 1e9, Beta: 1e6}} {
		m := mustModel(t, p, 100, 10)
		for _, rate := range []float64{0, 5e-324, 1e-200, 1, 1e6, MaxRateLimit} {
			got := mustPredict(t, m, rate)
			for _, v := range []float64{got.TTFT, got.ITL, got.Throughput, got.Blocking, got.InSystem, got.InService, got.Response, got.Service, got.Wait, got.Concurrency} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					t.Fatalf("%+v rate %v: non-finite or negative output %+v", p, rate, got)
				}
			}
			if got.Concurrency < 1 || got.Concurrency > float64(p.MaxBatchSize) || got.Blocking > 1 {
				t.Fatalf("%+v rate %v: out of range %+v", p, rate, got)
			}
		}
	}
}

func TestModelRejectsInvalidInput(t *testing.T) {
	tests := map[string]struct {
		p       Profile
		in, out float64
	}{
		"zero alpha":           {Profile{MaxBatchSize: 1, Alpha: 0}, 1, 1},
		"negative beta":        {Profile{MaxBatchSize: 1, Alpha: 1, Beta: -1}, 1, 1},
		"NaN gamma":            {Profile{MaxBatchSize: 1, Alpha: 1, Gamma: math.NaN()}, 1, 1},
		"Inf delta":            {Profile{MaxBatchSize: 1, Alpha: 1, Delta: math.Inf(1)}, 1, 1},
		"batch 0":              {Profile{MaxBatchSize: 0, Alpha: 1}, 1, 1},
		"batch 4097":           {Profile{MaxBatchSize: 4097, Alpha: 1}, 1, 1},
		"out below 1":          {Profile{MaxBatchSize: 1, Alpha: 1}, 1, 0.5},
		"negative in":          {Profile{MaxBatchSize: 1, Alpha: 1}, -1, 1},
		"service overflows":    {Profile{MaxBatchSize: 4096, Alpha: 1e300, Beta: 1e300}, 1, 1e10},
		"prefill overflows":    {Profile{MaxBatchSize: 4096, Alpha: 1, Delta: 1e300}, 1e10, 1},
		"decode step too slow": {Profile{MaxBatchSize: 4096, Alpha: 1, Beta: 1e14}, 0, 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := NewModel(tc.p, tc.in, tc.out); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("NewModel error = %v, want ErrInvalidInput", err)
			}
		})
	}
	m := mustModel(t, h100, 1, 1)
	for _, rate := range []float64{-1, math.NaN(), math.Inf(1), 2 * MaxRateLimit} {
		if _, err := m.Predict(rate); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("Predict(%v) error = %v, want ErrInvalidInput", rate, err)
		}
	}
	if _, err := (Model{}).Predict(1); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero Model: error = %v, want ErrInvalidInput", err)
	}
}
