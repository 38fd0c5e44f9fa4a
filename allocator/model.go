package allocator

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidInput is wrapped by every error about an input outside the domain
// the package accepts (test with errors.Is).
var ErrInvalidInput = errors.New("invalid input")

// Limits of the inputs the model accepts. They are far beyond any real
// server; they exist so that no intermediate result can overflow.
const (
	// MaxBatchSizeLimit is the largest maxBatchSize accepted.
	MaxBatchSizeLimit = 4096
	// MaxRateLimit is the largest arrival rate accepted, requests per second.
	MaxRateLimit = 1e12
	// maxServiceMs bounds the service time of one request (about 30,000
	// years), so that queue lengths times service times stay finite.
	maxServiceMs = 1e15
	// minFixedServiceMs is the smallest fixed part of the service time. With
	// one output token and no prefill cost a request would take no time at
	// all and a replica would have infinite capacity; one microsecond of
	// per-request overhead keeps every rate finite and changes nothing real.
	minFixedServiceMs = 1e-3
	// queueFactor sets the size of the chain: K = N + queueFactor·N states
	// above 0 (N in service, the rest waiting).
	queueFactor = 10
	// weightCutoff is the relative probability below which the states of the
	// chain are ignored. The chain is unimodal, so the states left out form
	// two tails whose total weight is below K·cutoff relative to the mode.
	weightCutoff = 1e-20
)

// Profile is the measured performance of one replica, in milliseconds.
//
// Prefill of a batch of n requests takes Tp(n) = Gamma + Delta·in·n and one
// decode step takes Td(n) = Alpha + Beta·n, where in is the number of input
// tokens of a request.
type Profile struct {
	// MaxBatchSize is the largest number of requests served at once (N).
	MaxBatchSize int
	// Alpha and Beta give the decode time per output token (ms).
	Alpha, Beta float64
	// Gamma and Delta give the prefill time (ms).
	Gamma, Delta float64
}

// Validate reports whether the profile is in the accepted domain: alpha > 0,
// beta, gamma, delta ≥ 0, all finite, and 1 ≤ MaxBatchSize ≤ 4096.
func (p Profile) Validate() error {
	if p.MaxBatchSize < 1 || p.MaxBatchSize > MaxBatchSizeLimit {
		return fmt.Errorf("%w: maxBatchSize must be in [1, %d], got %d", ErrInvalidInput, MaxBatchSizeLimit, p.MaxBatchSize)
	}
	if !(p.Alpha > 0) || math.IsInf(p.Alpha, 0) {
		return fmt.Errorf("%w: alpha must be positive and finite, got %v", ErrInvalidInput, p.Alpha)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"beta", p.Beta}, {"gamma", p.Gamma}, {"delta", p.Delta}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: %s must be non-negative and finite, got %v", ErrInvalidInput, f.name, f.v)
		}
	}
	return nil
}

// Model is the performance model of one replica for a given request shape
// (average input and output tokens). Build it with NewModel; the zero value
// is not usable.
type Model struct {
	p       Profile
	in, out float64
	// The service time of a request at concurrency n is S(n) = a + b·n.
	a, b float64
	// k is the largest state of the chain (K = N + 10·N).
	k int
}

// NewModel validates the profile and the request shape (avgIn ≥ 0,
// avgOut ≥ 1) and prepares the model.
func NewModel(p Profile, avgIn, avgOut float64) (Model, error) {
	if err := p.Validate(); err != nil {
		return Model{}, err
	}
	if !(avgIn >= 0) || math.IsInf(avgIn, 0) {
		return Model{}, fmt.Errorf("%w: average input tokens must be non-negative and finite, got %v", ErrInvalidInput, avgIn)
	}
	if !(avgOut >= 1) || math.IsInf(avgOut, 0) {
		return Model{}, fmt.Errorf("%w: average output tokens must be at least 1 and finite, got %v", ErrInvalidInput, avgOut)
	}
	// S(n) = Tp(n) + (out−1)·Td(n) = [γ + (out−1)α] + [δ·in + (out−1)β]·n.
	a := p.Gamma + (avgOut-1)*p.Alpha
	b := p.Delta*avgIn + (avgOut-1)*p.Beta
	a = math.Max(a, minFixedServiceMs)
	n := p.MaxBatchSize
	if sN := a + b*float64(n); !(sN <= maxServiceMs) {
		return Model{}, fmt.Errorf("%w: service time of a request at batch size %d is %v ms, above the limit of %v ms", ErrInvalidInput, n, sN, maxServiceMs)
	}
	if tp := p.Gamma + p.Delta*avgIn*float64(n); !(tp <= maxServiceMs) {
		return Model{}, fmt.Errorf("%w: prefill time at batch size %d is %v ms, above the limit of %v ms", ErrInvalidInput, n, tp, maxServiceMs)
	}
	if td := p.Alpha + p.Beta*float64(n); !(td <= maxServiceMs) {
		return Model{}, fmt.Errorf("%w: decode time at batch size %d is %v ms, above the limit of %v ms", ErrInvalidInput, n, td, maxServiceMs)
	}
	return Model{p: p, in: avgIn, out: avgOut, a: a, b: b, k: n + queueFactor*n}, nil
}

// Profile returns the profile the model was built from.
func (m Model) Profile() Profile { return m.p }

// Prefill is Tp(n) in ms.
func (m Model) Prefill(n float64) float64 { return m.p.Gamma + m.p.Delta*m.in*n }

// Decode is Td(n), the time of one decode step, in ms.
func (m Model) Decode(n float64) float64 { return m.p.Alpha + m.p.Beta*n }

// ServiceTime is S(n) = Tp(n) + (out−1)·Td(n) in ms (with the fixed part
// floored at one microsecond, see minFixedServiceMs).
func (m Model) ServiceTime(n float64) float64 { return m.a + m.b*n }

// MaxRate is μ(N), the throughput of a replica whose batch is always full, in
// requests per second. No arrival rate at or above it is sustainable.
func (m Model) MaxRate() float64 {
	n := float64(m.p.MaxBatchSize)
	return 1000 * n / m.ServiceTime(n)
}

// Prediction is what the model predicts for one replica at one arrival rate.
type Prediction struct {
	// TTFT is the predicted time to first token, W + Tp(n_eff), in ms.
	TTFT float64
	// ITL is the predicted inter-token latency in ms: the mean step time of
	// a batch that also prefills the requests admitted meanwhile (see
	// decodeInterval); Td(1) at vanishing load or with N = 1.
	ITL float64
	// Throughput is X = λ(1 − p(K)), the rate of accepted requests, req/s.
	Throughput float64
	// Blocking is p(K), the probability that the queue is full.
	Blocking float64
	// InSystem is L, the mean number of requests in the replica.
	InSystem float64
	// InService is Ls, the mean number of requests being served.
	InService float64
	// Response is T = L/X, the mean time in the replica, in ms.
	Response float64
	// Service is S̄ = Ls/X, the mean service time, in ms.
	Service float64
	// Wait is W = max(T − S̄, 0), the mean time in the queue, in ms.
	Wait float64
	// Concurrency is n_eff, the batch size with S(n_eff) = S̄, in [1, N].
	Concurrency float64
}

// Predict evaluates the model at an arrival rate in requests per second
// (0 ≤ rate ≤ MaxRateLimit). Rate 0 gives the limit of vanishing load:
// TTFT = Tp(1), ITL = Td(1).
func (m Model) Predict(rate float64) (Prediction, error) {
	if m.k == 0 {
		return Prediction{}, fmt.Errorf("%w: model not built with NewModel", ErrInvalidInput)
	}
	if !(rate >= 0 && rate <= MaxRateLimit) {
		return Prediction{}, fmt.Errorf("%w: arrival rate must be in [0, %v] req/s, got %v", ErrInvalidInput, MaxRateLimit, rate)
	}
	return m.predict(rate), nil
}

// predict evaluates the birth-death chain of the replica for a validated rate.
//
// The chain has states 0..K with p(j+1) = p(j)·λ/μ(min(j+1, N)) and
// μ(m) = m/S(m). Using that recurrence, every quantity the model needs is an
// average over the states j < K seen by an accepted arrival, with weights
// p(j):
//
//	T  = L/X  = Σ (j+1)·S(m)/m · p(j) / Σ p(j)     (m = min(j+1, N))
//	S̄  = Ls/X = Σ S(m) · p(j)         / Σ p(j)
//	n_eff     = Σ m · p(j)            / Σ p(j)     (S is affine: S(n_eff) = S̄)
//
// so no division by a vanishing X is ever needed. The weights are computed
// relative to the mode of the chain (the log-sum-exp trick: subtract the
// maximum before exponentiating). The log-weights are concave in j because
// μ grows with m, so walking outwards from the mode multiplies by ratios ≤ 1:
// nothing overflows, and the walk stops once a weight falls below
// weightCutoff. The reference implementation in the tests does the same sums
// over the whole chain with gonum's floats.LogSumExp and agrees.
func (m Model) predict(rate float64) Prediction {
	lam := rate / 1000 // req/ms: all times are ms
	n := m.p.MaxBatchSize
	nf := float64(n)
	last := m.k - 1 // the weights run over j = 0..K−1
	mode := m.mode(lam, last)

	var sw, sT, sS, sM float64
	add := func(j int, w float64) {
		mm := float64(min(j+1, n))
		s := m.a + m.b*mm
		sw += w
		sS += w * s
		sT += w * float64(j+1) * s / mm
		sM += w * mm
	}
	add(mode, 1)
	// Downwards from the mode: p(j) = p(j+1)·μ(min(j+1,N))/λ.
	w := 1.0
	for j := mode - 1; j >= 0; j-- {
		mm := float64(min(j+1, n))
		w *= mm / (lam * (m.a + m.b*mm))
		if w < weightCutoff {
			break
		}
		add(j, w)
	}
	// Upwards from the mode: p(j+1) = p(j)·λ/μ(min(j+1,N)).
	w = 1.0
	wLast := 0.0 // weight of state K−1, 0 when negligible
	if mode == last {
		wLast = 1
	}
	for j := mode + 1; j <= last; j++ {
		mm := float64(min(j, n))
		w *= lam * (m.a + m.b*mm) / mm
		if w < weightCutoff {
			break
		}
		add(j, w)
		if j == last {
			wLast = w
		}
	}
	// p(K) relative to the same reference; 1−p(K) = Σ_{j<K} p(j) / (that + p(K)).
	wK := wLast * lam * (m.a + m.b*nf) / nf
	accepted := 1 / (1 + wK/sw)

	t := sT / sw
	sbar := sS / sw
	neff := math.Min(math.Max(sM/sw, 0), nf)
	x := rate * accepted
	return Prediction{
		TTFT:        math.Max(t-sbar, 0) + m.Prefill(neff),
		ITL:         m.decodeInterval(x / 1000),
		Throughput:  x,
		Blocking:    1 - accepted,
		InSystem:    x / 1000 * t,
		InService:   x / 1000 * sbar,
		Response:    t,
		Service:     sbar,
		Wait:        math.Max(t-sbar, 0),
		Concurrency: neff,
	}
}

// mode returns the most likely state in 0..last of the chain at rate lam
// (req/ms). Its log-weight rises while μ(min(j, N)) < λ, i.e. while
// j·(1 − λb) < λa for j ≤ N, and stays rising past N when μ(N) < λ.
func (m Model) mode(lam float64, last int) int {
	if lam <= 0 {
		return 0
	}
	n := m.p.MaxBatchSize
	var mode int
	if lam*m.b >= 1 {
		mode = last
	} else {
		// The rises are the j ≤ N with j < x; all of them and beyond N
		// when x > N (then μ(N) < λ).
		x := lam * m.a / (1 - lam*m.b)
		if x > float64(n) {
			mode = last
		} else {
			mode = max(int(math.Ceil(x))-1, 0)
		}
	}
	// The closed form may be off by one through rounding: settle it exactly.
	rises := func(j int) bool { // weight(j) > weight(j−1)
		mm := float64(min(j, n))
		return lam*(m.a+m.b*mm) > mm
	}
	for mode < last && rises(mode+1) {
		mode++
	}
	for mode > 0 && !rises(mode) {
		mode--
	}
	return mode
}

// decodeInterval is the predicted inter-token latency in ms at an accepted
// throughput lam (req/ms): the mean duration of the steps a decoding request
// runs in. An iteration-level engine prefills the requests it admits in the
// same step as it decodes the running ones, so a step lasts a decode of the
// batch plus the prefills admitted in it: γ once if the step admits anyone
// (a Poisson arrival during the step before: probability 1 − e^(−λT)) and δ
// per prompt token of the λT requests admitted on average. With
// n = min(1 + λ·(out−1)·T, N) requests decoding (Little's law for the others,
// plus the request itself), the step time T solves
//
//	T = f(T) = (α + β·n + γ·(1 − e^(−λT))) / (1 − λ·δ·in).
//
// f is increasing, concave and bounded, so g(T) = f(T) − T has exactly one
// root above Td(1) ≤ f(Td(1)), below hi = f(∞). λ ≤ μ(N) < 1/b keeps
// λ·δ·in < 1 (the guard only catches rounding). Newton's method on the
// concave g from hi, where g ≤ 0, descends monotonically to the root and
// converges quadratically; stopped early it is still an upper bound, the
// safe side for capacity. At λ = 0 it is Td(1); with N = 1 nothing is
// admitted while a request decodes, so it is Td(1) too.
func (m Model) decodeInterval(lam float64) float64 {
	p := m.p
	td1 := m.Decode(1)
	if p.MaxBatchSize == 1 || lam <= 0 {
		return td1
	}
	keep := 1 - lam*p.Delta*m.in // the share of a step left to decode and γ
	if !(keep > 0) {
		return maxServiceMs
	}
	nf := float64(p.MaxBatchSize)
	perT := lam * (m.out - 1) // requests decoding per ms of step time
	t := math.Min((p.Alpha+p.Beta*nf+p.Gamma)/keep, maxServiceMs)
	for range 100 {
		n := 1 + perT*t
		slope := p.Gamma * lam * math.Exp(-lam*t) // d/dT of γ·(1 − e^(−λT))
		if n < nf {
			slope += p.Beta * perT
		} else {
			n = nf
		}
		g := (p.Alpha+p.Beta*n-p.Gamma*math.Expm1(-lam*t))/keep - t
		dg := slope/keep - 1 // < 0 right of the root (g concave)
		if !(g < 0) || !(dg < 0) {
			break // at the root to rounding
		}
		next := t - g/dg
		if !(next < t) || t-next <= 1e-13*t {
			t = math.Min(next, t)
			break
		}
		t = next
	}
	return math.Max(t, td1)
}
