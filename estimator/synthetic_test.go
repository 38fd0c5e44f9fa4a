package estimator

import (
	"math"
	"math/rand/v2"
	"time"
)

// synth generates observations of a server with known parameters: batch
// sizes uniform in [1, maxBatch], windows whose requests average 256–2048
// prompt tokens (from a population averaging synthPromptMean), multiplicative
// Gaussian noise of relative size noise, and a fraction of outliers (a
// window whose latencies are 3–6 times too high, e.g. a GC pause or a
// scrape of a pod that is still loading).
type synth struct {
	rng      *rand.Rand
	truth    Params
	maxBatch float64
	noise    float64
	outliers float64
	t        time.Time
}

func newSynth(seed uint64, truth Params) *synth {
	return &synth{rng: rand.New(rand.NewPCG(seed, 15)), truth: truth, maxBatch: 64, noise: 0.03,
		t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (s *synth) next() (time.Time, Observation, bool) {
	s.t = s.t.Add(time.Minute)
	n := 1 + s.rng.Float64()*(s.maxBatch-1)
	in := 256 + s.rng.Float64()*1792
	rate := 0.1 + s.rng.Float64()*4.9
	itlTrue, preTrue := physics(s.truth, n, in, synthPromptMean, rate)
	itl := itlTrue * (1 + s.noise*s.rng.NormFloat64())
	pre := preTrue * (1 + s.noise*s.rng.NormFloat64())
	outlier := s.rng.Float64() < s.outliers
	if outlier {
		f := 3 + 3*s.rng.Float64()
		itl, pre = itl*f, pre*f
	}
	return s.t, Observation{Batch: n, ITL: math.Max(itl, 0.01), Prefill: math.Max(pre, 0.01), InputTokens: in, Requests: 50, RequestRate: rate}, outlier
}

// synthPromptMean is the mean prompt of the synthetic servers' requests:
// the prompts of the others admitted with a window's requests.
const synthPromptMean = 1152

// physics is what a server with profile p shows at batch n, prompts of in
// tokens (others for the requests admitted with them) and rate req/s: the
// mean ITL and the time from admission to the first token, by the
// relations of physics.go solved for the server's side (the fixed point of
// k and u).
func physics(p Params, n, in, others, rate float64) (itl, prefill float64) {
	itl = p.Decode(n)
	k := 1.0
	for range 100 {
		u := rate * (p.Gamma/k + p.Delta*in) / 1000
		itl = p.Decode(n) / (1 - u)
		k = 1 + rate*itl/1000
	}
	b := n - 1
	return itl, p.Gamma + p.Delta*(in+(k-1)*others) + p.Alpha*(1-math.Exp(-b)) + p.Beta*b
}

func relDiff(got, want float64) float64 {
	if want == 0 {
		return math.Abs(got)
	}
	return math.Abs(got-want) / want
}

// worstRel is the largest relative error of the four parameters.
func worstRel(got, want Params) float64 {
	return max(relDiff(got.Alpha, want.Alpha), relDiff(got.Beta, want.Beta), relDiff(got.Gamma, want.Gamma), relDiff(got.Delta, want.Delta))
}

var truthH100 = Params{Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}

func scaled(p Params, f float64) Params {
	return Params{Alpha: p.Alpha * f, Beta: p.Beta * f, Gamma: p.Gamma * f, Delta: p.Delta * f}
}
