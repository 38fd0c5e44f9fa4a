package estimator

import (
	"fmt"
	"time"
)

// Config tunes an Estimator. The zero value of a field takes the default.
type Config struct {
	// Forgetting is the factor λ ∈ (0, 1] that past information is
	// multiplied by at each full-weight observation, in the direction of the
	// observation (relation.forget): along any direction the data keep
	// exploring, the estimate remembers about 1/(1−λ) recent observations,
	// and so follows a server whose performance drifts. Default 0.95 (about
	// 20 observations); ForgettingFor sets it from a memory in time.
	Forgetting float64
	// OutlierSigma rejects an observation whose innovation is more than
	// this many standard deviations of its prediction. Default 4.
	OutlierSigma float64
	// RestartAfter consecutive rejections on the same side restart the
	// relation (see OutcomeRestarted). Default 5.
	RestartAfter int
	// FullWeightRequests is the number of requests for which a window
	// counts fully; a window with fewer counts in proportion (its means are
	// noisier). Default 20.
	FullWeightRequests float64
}

// Defaults of Config.
const (
	DefaultForgetting         = 0.95
	DefaultOutlierSigma       = 4
	DefaultRestartAfter       = 5
	DefaultFullWeightRequests = 20
	// minWeight is the smallest weight an observation is given.
	minWeight = 1e-3
)

// DefaultMemory is the memory the manager gives ForgettingFor: the memory
// of the default Forgetting with 2-minute windows, which follows a server
// slowing by half over ten hours within 10% (TestDriftTracked).
const DefaultMemory = 40 * time.Minute

// ForgettingFor is the Forgetting under which one server observed once per
// window remembers about `memory` of its past: λ = 1 − window/memory. The
// memory then stays the same in time whatever the window, and shorter
// windows give more, not fresher, observations. It must hold at least five
// windows (λ ≥ 0.8).
func ForgettingFor(window, memory time.Duration) (float64, error) {
	if window <= 0 || memory < 5*window {
		return 0, fmt.Errorf("%w: a memory of %v holds fewer than 5 windows of %v", ErrInvalidInput, memory, window)
	}
	return 1 - window.Seconds()/memory.Seconds(), nil
}

func (c Config) withDefaults() (Config, error) {
	if c.Forgetting == 0 {
		c.Forgetting = DefaultForgetting
	}
	if c.OutlierSigma == 0 {
		c.OutlierSigma = DefaultOutlierSigma
	}
	if c.RestartAfter == 0 {
		c.RestartAfter = DefaultRestartAfter
	}
	if c.FullWeightRequests == 0 {
		c.FullWeightRequests = DefaultFullWeightRequests
	}
	if !(c.Forgetting > 0 && c.Forgetting <= 1) || !(c.OutlierSigma > 0) || !finite(c.OutlierSigma, c.FullWeightRequests) ||
		c.RestartAfter < 1 || !(c.FullWeightRequests > 0) {
		return c, fmt.Errorf("%w: config out of range: %+v (forgetting in (0, 1], outlier sigma > 0, restart after ≥ 1, full-weight requests > 0)", ErrInvalidInput, c)
	}
	return c, nil
}

// Estimator learns one variant's profile. It is not safe for concurrent use.
type Estimator struct {
	cfg     Config
	prior   Prior
	decode  *relation // θ = (α, β), x = n
	prefill *relation // θ = (γ, δ), x = in + (k − 1)·in_typ
	// batch range seen by accepted observations since the decode relation
	// (re)started.
	batchMin, batchMax float64
	// inputTokens is a running mean of the prompt length of accepted
	// prefill observations: the typical x/n of the prefill relation.
	inputTokens float64
	// dispersion is a running mean of the windows' index of dispersion of
	// the number in service (dispersion.go).
	dispersion float64
	updated    time.Time
}

// New starts an estimator at the prior.
func New(prior Prior, cfg Config) (*Estimator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := prior.validate(); err != nil {
		return nil, err
	}
	m, sd := prior.Mean, prior.StdDev
	return &Estimator{
		cfg:        cfg,
		prior:      prior,
		decode:     newRelation([2]float64{m.Alpha, m.Beta}, [2]float64{sd.Alpha, sd.Beta}, [2]float64{MinAlpha, 0}),
		prefill:    newRelation([2]float64{m.Gamma, m.Delta}, [2]float64{sd.Gamma, sd.Delta}, [2]float64{0, 0}),
		dispersion: poissonDispersion,
	}, nil
}

// Result says what an observation did.
type Result struct {
	Decode, Prefill Outcome
}

// Update takes one observation made at `at`. Invalid observations are an
// error and change nothing.
func (e *Estimator) Update(at time.Time, o Observation) (Result, error) {
	if err := o.validate(); err != nil {
		return Result{}, err
	}
	res := Result{Decode: OutcomeSkipped, Prefill: OutcomeSkipped}
	if o.Requests == 0 {
		return res, nil
	}
	w := clamp(o.Requests/e.cfg.FullWeightRequests, minWeight, 1)
	o.Batch = e.readBatch(o)
	if o.ITL > 0 {
		x, y := decodePoint(e.params(), o)
		res.Decode = e.decode.update(x, y, w, e.cfg)
		switch res.Decode {
		case OutcomeRestarted:
			e.batchMin, e.batchMax = o.Batch, o.Batch
		case OutcomeAccepted:
			if e.batchMax == 0 {
				e.batchMin, e.batchMax = o.Batch, o.Batch
			}
			e.batchMin, e.batchMax = min(e.batchMin, o.Batch), max(e.batchMax, o.Batch)
		}
	}
	if o.Prefill > 0 && o.InputTokens > 0 {
		others := e.inputTokens // the typical prompt; the window's own at first
		if others <= 0 {
			others = o.InputTokens
		}
		if x, y, ok := prefillPoint(e.params(), o, others); ok {
			res.Prefill = e.prefill.update(x, y, w, e.cfg)
		}
		if res.Prefill == OutcomeAccepted || res.Prefill == OutcomeRestarted {
			// A running mean over the relation's memory.
			rho := max(1/float64(e.prefill.n), 1-e.cfg.Forgetting)
			e.inputTokens += rho * (o.InputTokens - e.inputTokens)
		}
	}
	if res.Decode != OutcomeSkipped || res.Prefill != OutcomeSkipped {
		if at.After(e.updated) {
			e.updated = at
		}
	}
	return res, nil
}

// Estimate is the current estimate with its uncertainty: everything needed
// to judge it (Readiness) and to resume from it after a restart (Restore).
type Estimate struct {
	// Params is the estimate, StdErr the standard error of each parameter.
	Params, StdErr Params
	// CorrDecode is the correlation of α and β, CorrPrefill of γ and δ
	// (the two relations are independent of each other).
	CorrDecode, CorrPrefill float64
	// DecodeSamples and PrefillSamples count the observations each relation
	// accepted since it started or restarted.
	DecodeSamples, PrefillSamples int
	// BatchMin and BatchMax are the range of batch sizes the decode relation
	// accepted since it started or restarted (0 when none).
	BatchMin, BatchMax float64
	// InputTokens is the typical prompt length of the prefill observations.
	InputTokens float64
	// BatchDispersion is the running index of dispersion of the number in
	// service the batch is read with (dispersion.go).
	BatchDispersion float64
	// DecodeNoise and PrefillNoise are the relative residual standard
	// deviations of one full-weight observation.
	DecodeNoise, PrefillNoise float64
	// Updated is the time of the last observation taken (zero when none).
	Updated time.Time
}

// params is the current point estimate.
func (e *Estimator) params() Params {
	return Params{
		Alpha: e.decode.theta.AtVec(0), Beta: e.decode.theta.AtVec(1),
		Gamma: e.prefill.theta.AtVec(0), Delta: e.prefill.theta.AtVec(1),
	}
}

// Estimate returns the current estimate.
func (e *Estimator) Estimate() Estimate {
	d, p := e.decode.stdErr(), e.prefill.stdErr()
	return Estimate{
		Params:          e.params(),
		StdErr:          Params{Alpha: d[0], Beta: d[1], Gamma: p[0], Delta: p[1]},
		CorrDecode:      e.decode.corr(),
		CorrPrefill:     e.prefill.corr(),
		DecodeSamples:   e.decode.n,
		PrefillSamples:  e.prefill.n,
		BatchMin:        e.batchMin,
		BatchMax:        e.batchMax,
		InputTokens:     e.inputTokens,
		BatchDispersion: e.dispersion,
		DecodeNoise:     sqrt(e.decode.noise()),
		PrefillNoise:    sqrt(e.prefill.noise()),
		Updated:         e.updated,
	}
}

// Prior returns the prior the estimator started from.
func (e *Estimator) Prior() Prior { return e.prior }

// Restore resumes an estimator from a saved estimate (the VA status keeps
// one), with the prior it would start from now (the ceiling of its
// uncertainty). The estimate is validated; a bad one is an error, and the
// caller then starts from the prior.
func Restore(prior Prior, cfg Config, s Estimate) (*Estimator, error) {
	e, err := New(prior, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Params.validate("saved estimate", true); err != nil {
		return nil, err
	}
	if err := s.StdErr.validate("saved standard error", false); err != nil {
		return nil, err
	}
	if !finite(s.CorrDecode, s.CorrPrefill, s.BatchMin, s.BatchMax, s.InputTokens, s.DecodeNoise, s.PrefillNoise, s.BatchDispersion) ||
		s.BatchDispersion < 0 || s.BatchDispersion > MaxBatch ||
		s.CorrDecode < -1 || s.CorrDecode > 1 || s.CorrPrefill < -1 || s.CorrPrefill > 1 ||
		s.DecodeSamples < 0 || s.PrefillSamples < 0 || s.BatchMin < 0 || s.BatchMax < s.BatchMin ||
		s.InputTokens < 0 || s.DecodeNoise < 0 || s.PrefillNoise < 0 {
		return nil, fmt.Errorf("%w: saved estimate out of range: %+v", ErrInvalidInput, s)
	}
	lambda := e.cfg.Forgetting
	set := func(r *relation, t0, t1, se0, se1, corr, noise float64, n int) {
		r.theta.SetVec(0, max(t0, r.floor[0]))
		r.theta.SetVec(1, max(t1, r.floor[1]))
		s := clamp(noise*noise, minNoise*minNoise, maxNoise*maxNoise)
		// Never more uncertain than the prior allows (forgetting caps it
		// the same way).
		v0, v1 := min(se0*se0, r.v0[0]), min(se1*se1, r.v0[1])
		r.v.SetSym(0, 0, v0)
		r.v.SetSym(1, 1, v1)
		r.v.SetSym(0, 1, corr*sqrt(v0*v1))
		// The evidence about σ² after n full-weight observations with
		// forgetting: a = λⁿ·a₀ + Σ λᵏ/2 (exact when every window had full
		// weight, which the estimate does not record).
		r.a = priorNoiseWeight / 2
		for range min(n, 10000) {
			r.a = lambda*r.a + 0.5
		}
		r.b = r.a * s
		r.n = n
	}
	set(e.decode, s.Params.Alpha, s.Params.Beta, s.StdErr.Alpha, s.StdErr.Beta, s.CorrDecode, s.DecodeNoise, s.DecodeSamples)
	set(e.prefill, s.Params.Gamma, s.Params.Delta, s.StdErr.Gamma, s.StdErr.Delta, s.CorrPrefill, s.PrefillNoise, s.PrefillSamples)
	e.batchMin, e.batchMax = s.BatchMin, s.BatchMax
	e.inputTokens = s.InputTokens
	if s.BatchDispersion > 0 { // 0: a status written before it was kept
		e.dispersion = s.BatchDispersion
	}
	e.updated = s.Updated
	return e, nil
}
