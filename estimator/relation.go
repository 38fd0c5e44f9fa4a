package estimator

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Noise model. The residual of a relation is taken as relative: its
// variance is σ²·ŷ²/w, where ŷ is the prediction, w the weight of the
// observation in (0, 1] and σ the relative noise level. Window averages of
// latencies scatter in proportion to their size, so a relative level carries
// over from small to large batches. σ² is unknown and learned with the
// parameters (the normal-inverse-gamma conjugate recursion: θ | σ² ~
// N(θ̂, σ²V), σ² ~ InvGamma(a, b)), so the standard errors account for the
// uncertainty of the noise as well as of the parameters.
const (
	// initialNoise is the prior guess of σ, worth priorNoiseWeight
	// observations.
	initialNoise     = 0.05
	priorNoiseWeight = 2
	// minNoise and maxNoise bound σ: below 0.5% the filter would believe a
	// single window too much; above 50% the data say nothing.
	minNoise = 0.005
	maxNoise = 0.5
	// noiseWarmup is the number of accepted observations before outliers
	// are rejected: with two parameters, fewer cannot tell noise from a
	// wrong estimate.
	noiseWarmup = 3
)

// Outcome says what an observation did to one relation.
type Outcome string

// Outcomes of an observation for one relation.
const (
	// OutcomeSkipped: the observation has no value for the relation.
	OutcomeSkipped Outcome = "Skipped"
	// OutcomeAccepted: the estimate was updated.
	OutcomeAccepted Outcome = "Accepted"
	// OutcomeRejected: an outlier, ignored.
	OutcomeRejected Outcome = "Rejected"
	// OutcomeRestarted: after several outliers in a row on the same side the
	// relation restarted from its current estimate with the prior's
	// uncertainty, then took the observation (a regime change: new server
	// version, flags, hardware).
	OutcomeRestarted Outcome = "Restarted"
)

// relation is recursive least squares with a forgetting factor for one
// linear relation y = θ₀ + θ₁·x, with the covariance of θ.
type relation struct {
	theta *mat.VecDense // θ₀, θ₁
	v     *mat.SymDense // covariance of θ divided by σ²
	v0    [2]float64    // prior diagonal of v: the ceiling of the diagonal
	floor [2]float64    // θ is projected onto θᵢ ≥ floorᵢ
	a, b  float64       // σ² ~ InvGamma(a, b)
	n     int           // accepted observations since the start or a restart
	run   int           // consecutive rejections on the same side
	side  float64       // sign of those rejections
}

func newRelation(mean, sd, floor [2]float64) *relation {
	r := &relation{
		theta: mat.NewVecDense(2, []float64{max(mean[0], floor[0]), max(mean[1], floor[1])}),
		floor: floor,
	}
	s0 := initialNoise * initialNoise
	r.v0 = [2]float64{sd[0] * sd[0] / s0, sd[1] * sd[1] / s0}
	r.restart()
	return r
}

// restart keeps θ and gives it the prior's uncertainty again.
func (r *relation) restart() {
	r.v = mat.NewSymDense(2, []float64{r.v0[0], 0, 0, r.v0[1]})
	r.a = priorNoiseWeight / 2
	r.b = r.a * initialNoise * initialNoise
	r.n, r.run = 0, 0
}

// noise is the estimate of σ², b/a within its bounds.
func (r *relation) noise() float64 {
	return clamp(r.b/r.a, minNoise*minNoise, maxNoise*maxNoise)
}

// forget discounts past information by λ^w (w is the weight of the new
// observation): V grows by 1/λ^w and the evidence about σ² (a, b) shrinks
// by λ^w. V's diagonal is then capped at the prior's: without the cap, a
// relation observed at one batch size only would let the variance of its
// slope grow without bound (covariance wind-up). Scaling rows and columns by
// the same factor keeps the matrix positive semi-definite.
func (r *relation) forget(lambda, w float64) {
	f := math.Pow(lambda, w)
	r.a *= f
	r.b *= f
	var d [2]float64
	for i := range 2 {
		v := r.v.At(i, i) / f
		d[i] = 1
		if v > r.v0[i] {
			d[i] = math.Sqrt(r.v0[i] / v)
		}
	}
	for i := range 2 {
		for j := i; j < 2; j++ {
			r.v.SetSym(i, j, r.v.At(i, j)/f*d[i]*d[j])
		}
	}
}

// predict is ŷ = θ₀ + θ₁·x.
func (r *relation) predict(x float64) float64 {
	return r.theta.AtVec(0) + r.theta.AtVec(1)*x
}

// update takes one observation y at x with weight w ∈ (0, 1].
func (r *relation) update(x, y, w float64, cfg Config) Outcome {
	h := mat.NewVecDense(2, []float64{1, x})
	scale := max(r.predict(x), 1e-6)
	// The observation's noise variance is σ²/ω: y is compared in units of
	// the prediction, and a window of few requests counts less.
	omega := w / (scale * scale)
	var vh mat.VecDense
	innovation := func() (e, q float64) {
		vh.MulVec(r.v, h)
		return y - r.predict(x), mat.Dot(h, &vh) + 1/omega
	}
	e, q := innovation()
	outcome := OutcomeAccepted
	if r.n >= noiseWarmup && math.Abs(e) > cfg.OutlierSigma*math.Sqrt(q*r.noise()) {
		side := math.Copysign(1, e)
		if r.run > 0 && side == r.side {
			r.run++
		} else {
			r.run, r.side = 1, side
		}
		if r.run < cfg.RestartAfter {
			return OutcomeRejected
		}
		r.restart()
		outcome = OutcomeRestarted
	}
	r.run = 0
	r.forget(cfg.Forgetting, w)
	e, q = innovation()
	// Gain K = Vh/q; θ += K·e; V = (I−Khᵀ)V(I−Khᵀ)ᵀ + KKᵀ/ω (Joseph form,
	// symmetric and positive semi-definite under rounding); the noise
	// evidence grows by half an observation and e²/(2q).
	var k mat.VecDense
	k.ScaleVec(1/q, &vh)
	r.theta.AddScaledVec(r.theta, e, &k)
	var a mat.Dense
	a.Outer(-1, &k, h)
	for i := range 2 {
		a.Set(i, i, a.At(i, i)+1)
	}
	var ava, p mat.Dense
	ava.Product(&a, r.v, a.T())
	p.Outer(1/omega, &k, &k)
	p.Add(&p, &ava)
	for i := range 2 {
		for j := i; j < 2; j++ {
			r.v.SetSym(i, j, (p.At(i, j)+p.At(j, i))/2)
		}
	}
	r.a += w / 2
	r.b += w * e * e / (2 * q)
	for i := range 2 {
		if r.theta.AtVec(i) < r.floor[i] {
			r.theta.SetVec(i, r.floor[i])
		}
	}
	r.n++
	return outcome
}

// stdErr and corr describe the covariance σ²V.
func (r *relation) stdErr() [2]float64 {
	s := r.noise()
	return [2]float64{sqrt(s * r.v.At(0, 0)), sqrt(s * r.v.At(1, 1))}
}

func (r *relation) corr() float64 {
	d := r.v.At(0, 0) * r.v.At(1, 1)
	if !(d > 0) {
		return 0
	}
	return clamp(r.v.At(0, 1)/math.Sqrt(d), -1, 1)
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
