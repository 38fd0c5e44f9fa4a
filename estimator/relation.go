package estimator

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Noise model. The residual of a relation is taken as relative: its
// variance is σ²·ŷ²/w, where ŷ is the prediction, w the weight of the
// observation in (0, 1] and σ the relative noise level. Window averages of
// latencies scatter in proportion to their size, so a relative level carries
// over from small to large batches. σ² is unknown and learned from the
// innovations: with S = hᵀPh + σ²/ω the variance the filter expects of an
// innovation e, σ²·e²/S is a sample of σ² whatever the share of parameter
// uncertainty in S (early on, when the prior dominates S, it leaves σ² at
// its prior guess instead of reading the prior's error as noise). The
// samples are averaged like the inverse-gamma evidence (a, b) of a
// conjugate prior, σ̂² = b/a. The covariance P of θ is absolute: a prior's
// uncertainty does not shrink when the data turn out to be quiet.
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
	// relation restarted from its current estimate, made uncertain again
	// (relation.restart), then took the observation (a regime change: new
	// server version, flags, hardware).
	OutcomeRestarted Outcome = "Restarted"
)

// relation is recursive least squares with a forgetting factor for one
// linear relation y = θ₀ + θ₁·x, with the covariance of θ.
type relation struct {
	theta *mat.VecDense // θ₀, θ₁
	v     *mat.SymDense // covariance of θ
	v0    [2]float64    // prior variances: the ceiling of the diagonal
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
	r.v0 = [2]float64{sd[0] * sd[0], sd[1] * sd[1]}
	r.reset()
	return r
}

// restartInflation multiplies the covariance at a restart (standard errors
// ×10), within the prior's.
const restartInflation = 100

// reset puts the relation at its prior uncertainty (at the start).
func (r *relation) reset() {
	r.v = mat.NewSymDense(2, []float64{r.v0[0], 0, 0, r.v0[1]})
	r.a = priorNoiseWeight / 2
	r.b = r.a * initialNoise * initialNoise
	r.n, r.run = 0, 0
}

// restart keeps θ and makes it uncertain again: the covariance grows by
// restartInflation, capped at the prior's variances, keeping its shape. The
// shape matters: new data seen at a single batch size (a saturated server)
// then move the estimate along what they pin down and leave the rest where
// the older data put it; resetting to the prior's diagonal let α and β
// wander apart along the direction one batch size cannot see.
func (r *relation) restart() {
	for i := range 2 {
		for j := i; j < 2; j++ {
			r.v.SetSym(i, j, r.v.At(i, j)*restartInflation)
		}
	}
	r.capAtPrior()
	r.a = priorNoiseWeight / 2
	r.b = r.a * initialNoise * initialNoise
	r.n, r.run = 0, 0
}

// capAtPrior scales rows and columns so that no variance exceeds the
// prior's (which keeps the matrix positive semi-definite).
func (r *relation) capAtPrior() {
	var d [2]float64
	for i := range 2 {
		d[i] = 1
		if v := r.v.At(i, i); v > r.v0[i] {
			d[i] = math.Sqrt(r.v0[i] / v)
		}
	}
	for i := range 2 {
		for j := i; j < 2; j++ {
			r.v.SetSym(i, j, r.v.At(i, j)*d[i]*d[j])
		}
	}
}

// noise is the estimate of σ², b/a within its bounds.
func (r *relation) noise() float64 {
	return clamp(r.b/r.a, minNoise*minNoise, maxNoise*maxNoise)
}

// forget discounts past information before an observation at h, by λ^w
// (w is the observation's weight), in the direction h only: directional
// forgetting in covariance form (Hägglund),
//
//	V ← V + (λ^(−w) − 1)·V·h·hᵀ·V / (hᵀ·V·h)
//
// raises the variance of the prediction at h, hᵀVh, by 1/λ^w, which the new
// observation then pins down again, and leaves the directions the new
// observation says nothing about as they were. Plain exponential
// forgetting would discount everything: a server held at one batch size for
// hours (saturated, or under a steady load) would forget the slope it had
// learned at other batch sizes, and the variance of the slope would grow
// until the estimate wandered along the direction no current data pins down
// (covariance wind-up). The added term is positive semi-definite, so V
// stays so. The evidence about σ² (a, b) is discounted by λ^w. V's diagonal
// is then capped at the prior's.
func (r *relation) forget(lambda, w float64, h *mat.VecDense) {
	f := math.Pow(lambda, w)
	r.a *= f
	r.b *= f
	if f < 1 {
		var vh mat.VecDense
		vh.MulVec(r.v, h)
		if hvh := mat.Dot(h, &vh); hvh > 0 && !math.IsInf(hvh, 0) {
			c := (1/f - 1) / hvh
			for i := range 2 {
				for j := i; j < 2; j++ {
					r.v.SetSym(i, j, r.v.At(i, j)+c*vh.AtVec(i)*vh.AtVec(j))
				}
			}
		}
	}
	r.capAtPrior()
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
		return y - r.predict(x), mat.Dot(h, &vh) + r.noise()/omega
	}
	e, q := innovation()
	outcome := OutcomeAccepted
	if r.n >= noiseWarmup && math.Abs(e) > cfg.OutlierSigma*math.Sqrt(q) {
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
	r.forget(cfg.Forgetting, w, h)
	e, q = innovation()
	noiseVar := r.noise() / omega
	// Gain K = Ph/q; θ += K·e; P = (I−Khᵀ)P(I−Khᵀ)ᵀ + R·KKᵀ (Joseph form,
	// symmetric and positive semi-definite under rounding).
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
	p.Outer(noiseVar, &k, &k)
	p.Add(&p, &ava)
	for i := range 2 {
		for j := i; j < 2; j++ {
			r.v.SetSym(i, j, (p.At(i, j)+p.At(j, i))/2)
		}
	}
	// σ² evidence: half an observation and a sample σ̂²·e²/q.
	sample := r.noise() * e * e / q
	r.a += w / 2
	r.b += w * sample / 2
	r.project()
	r.n++
	return outcome
}

// project moves θ onto θᵢ ≥ floorᵢ along the covariance: a coordinate
// below its floor is raised to it and the other moves by its regression on
// it (θⱼ += Vᵢⱼ/Vᵢᵢ·(floorᵢ − θᵢ)), the nearest feasible point in the
// metric V⁻¹. What the data pin down (the prediction where they were
// observed) then stays where they put it. Raising the coordinate alone
// would not: data at a single prompt length pin γ + δ·x, and while they
// pulled δ below zero each update's rise of γ was kept and δ's fall
// undone, so γ climbed window after window away from the observations
// until they were rejected as outliers.
func (r *relation) project() {
	for i := range 2 {
		short := r.floor[i] - r.theta.AtVec(i)
		if !(short > 0) {
			continue
		}
		j := 1 - i
		if vii := r.v.At(i, i); vii > 0 {
			r.theta.SetVec(j, r.theta.AtVec(j)+r.v.At(i, j)/vii*short)
		}
		r.theta.SetVec(i, r.floor[i])
	}
	for i := range 2 { // the move of the other may have crossed its floor
		r.theta.SetVec(i, max(r.theta.AtVec(i), r.floor[i]))
	}
}

// stdErr and corr describe the covariance.
func (r *relation) stdErr() [2]float64 {
	return [2]float64{sqrt(r.v.At(0, 0)), sqrt(r.v.At(1, 1))}
}

func (r *relation) corr() float64 {
	d := r.v.At(0, 0) * r.v.At(1, 1)
	if !(d > 0) {
		return 0
	}
	return clamp(r.v.At(0, 1)/math.Sqrt(d), -1, 1)
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
