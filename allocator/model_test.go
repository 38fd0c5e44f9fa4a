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
// and n_eff from solving S(n_eff) = S̄; the ITL is the step-time fixed point
// solved by bisection (referenceITL). It needs rate > 0.
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
	return w + p.Gamma + p.Delta*in*neff, referenceITL(p, in, out, x), x * 1000
}

// referenceITL solves the step time T = (α + β·n + γ·(1 − e^(−λT))) / (1 − λ·δ·in),
// n = min(1 + λ·(out−1)·T, N), at the accepted throughput lam (req/ms) by
// bisection, independently of the Newton iteration of decodeInterval: the
// root lies between Td(1) (where the right-hand side is above T) and the
// right-hand side's bound with n = N and e^(−λT) = 0 (where it is below).
func referenceITL(p Profile, in, out, lam float64) float64 {
	if p.MaxBatchSize == 1 {
		return p.Alpha + p.Beta
	}
	rhs := func(t float64) float64 {
		n := math.Min(1+lam*(out-1)*t, float64(p.MaxBatchSize))
		return (p.Alpha + p.Beta*n + p.Gamma*(1-math.Exp(-lam*t))) / (1 - lam*p.Delta*in)
	}
	lo := p.Alpha + p.Beta
	hi := (p.Alpha + p.Beta*float64(p.MaxBatchSize) + p.Gamma) / (1 - lam*p.Delta*in)
	for range 200 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if rhs(mid) > mid {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
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
		// Far beyond saturation the batch is always full and the throughput
		// is μ(8) = 8/S(8) = 8/(100 + 99·9) req/ms: λ = 8/991 req/ms. Each
		// step decodes the full batch, Td(8) = 5 + 0.5·8 = 9, and prefills
		// the λT requests admitted during the step before: δ·in·λ·T =
		// (80/991)·T, plus γ = 20 when anyone was admitted (1 − e^(−λT)):
		//   T = (9 + 20·(1 − e^(−kT)))·c = c·(29 − 20·e^(−kT)),
		//   c = 991/911 = 1.0878155872667399, k = 8/991.
		// With u = T − 29c: k·u·e^(k·u) = −20·c·k·e^(−29·c·k), so
		//   T = 29c + W₀(−20·c·k·e^(−29·c·k))/k
		//     = 31.546652030735455 + W₀(−0.136145068023272)/k
		//     = 31.546652030735455 − 0.15972355675527133/0.008072653884964682
		//     = 11.76089643767622 ms,
		// and n = 1 + k·99·T = 10.4 > 8 confirms the full batch.
		"overloaded": {
			p: Profile{MaxBatchSize: 8, Alpha: 5, Beta: 0.5, Gamma: 20, Delta: 0.01}, in: 1000, out: 100, rate: 1e6,
			wantTTFT: math.NaN(), wantITL: 11.76089643767622, wantX: 8000.0 / 991,
		},
		// Moderate load, no γ: the batch grows linearly with the step time and
		// the fixed point is closed. λ = 0.01 req/ms (μ(64) = 64/(100 + 6·64)
		// req/ms is 13 times more, so nothing is blocked: X = λ). Prefill
		// share λ·δ·in = 0.01·0.01·100 = 0.01; n = 1 + λ·(out−1)·T = 1 + 0.1·T;
		//   T = (10 + 0.5·(1 + 0.1·T)) / (1 − 0.01)  ⇒  T·(0.99 − 0.05) = 10.5
		//   T = 10.5/0.94 = 11.170212765957448 ms (n = 2.12 < 64).
		"prefill interference, no gamma": {
			p: Profile{MaxBatchSize: 64, Alpha: 10, Beta: 0.5, Delta: 0.01}, in: 100, out: 11, rate: 10,
			wantTTFT: math.NaN(), wantITL: 10.5 / 0.94, wantX: 10,
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

// The Newton solve of decodeInterval against the bisection of referenceITL
// over random profiles and every accepted throughput up to μ(N), where the
// fixed point is hardest (the batch term's slope approaches 1), plus the
// limits: λ = 0 and N = 1 give Td(1); the result never falls below the root
// (Newton from above stops on the safe side).
func TestDecodeIntervalMatchesBisection(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 20000 {
		p := Profile{
			MaxBatchSize: 1 + rng.IntN(512),
			Alpha:        0.1 + 30*rng.Float64(),
			Beta:         2 * rng.Float64(),
			Gamma:        100 * rng.Float64(),
			Delta:        0.1 * rng.Float64(),
		}
		in, out := float64(rng.IntN(8000)), float64(1+rng.IntN(2000))
		m := mustModel(t, p, in, out)
		// X ≤ μ(N) always; a third of the cases sit within 1% of it.
		lam := m.MaxRate() / 1000 * rng.Float64()
		if i%3 == 0 {
			lam = m.MaxRate() / 1000 * (1 - 0.01*rng.Float64())
		}
		got, want := m.decodeInterval(lam), referenceITL(p, in, out, lam)
		if !near(got, want, 1e-9) || got < want*(1-1e-12) {
			t.Fatalf("case %d %+v in=%v out=%v λ=%v: decodeInterval %v, bisection %v", i, p, in, out, lam, got, want)
		}
		if td1 := m.Decode(1); m.decodeInterval(0) != td1 || got < td1 {
			t.Fatalf("case %d: at λ=0 %v, at λ=%v %v; want Td(1) = %v and above", i, m.decodeInterval(0), lam, got, td1)
		}
		if p.MaxBatchSize == 1 && got != m.Decode(1) {
			t.Fatalf("case %d: N = 1 gives %v, want Td(1) = %v", i, got, m.Decode(1))
		}
	}
}

// Capacity's bisection needs TTFT and ITL to rise with the rate: checked by
// brute force over random profiles and shapes on a grid up to 1.5·μ(N).
func TestModelMonotoneInRateRandomProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 300 {
		p := Profile{
			MaxBatchSize: 1 + rng.IntN(256),
			Alpha:        0.5 + 20*rng.Float64(),
			Beta:         rng.Float64(),
			Gamma:        50 * rng.Float64(),
			Delta:        0.05 * rng.Float64(),
		}
		in, out := float64(rng.IntN(4000)), float64(1+rng.IntN(1000))
		m := mustModel(t, p, in, out)
		prev := mustPredict(t, m, 0)
		for i := 1; i <= 300; i++ {
			rate := m.MaxRate() * 1.5 * float64(i) / 300
			got := mustPredict(t, m, rate)
			if got.TTFT < prev.TTFT*(1-1e-12) || got.ITL < prev.ITL*(1-1e-12) {
				t.Fatalf("%+v in=%v out=%v: not monotone at rate %v: TTFT %v→%v ITL %v→%v", p, in, out, rate, prev.TTFT, got.TTFT, prev.ITL, got.ITL)
			}
			prev = got
		}
	}
}

// When prefills take almost all of every step (λ·δ·in within rounding of 1:
// one output token, a 1 µs fixed service time, 10¹¹ ms of prefill per
// request), the ITL stays finite, at most maxServiceMs, and the capacity
// bisection still ends.
func TestDecodeIntervalPrefillSaturated(t *testing.T) {
	p := Profile{MaxBatchSize: 4096, Alpha: 1, Delta: 1e8}
	m := mustModel(t, p, 1000, 1)
	for _, rate := range []float64{m.MaxRate() / 2, m.MaxRate(), MaxRateLimit} {
		got := mustPredict(t, m, rate)
		if !(got.ITL >= m.Decode(1) && got.ITL <= maxServiceMs) {
			t.Errorf("rate %v: ITL %v outside [Td(1), %v]", rate, got.ITL, maxServiceMs)
		}
	}
	if _, err := m.Capacity(SLO{TTFT: 1e15, ITL: 2}); err != nil {
		t.Errorf("Capacity: %v", err)
	}
}
