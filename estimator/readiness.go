package estimator

import (
	"fmt"
	"math"
)

// Thresholds decide when a learned profile is good enough to plan with.
// The zero value of a field takes the default.
type Thresholds struct {
	// MinSamples is the number of observations each relation must have
	// accepted since it started or restarted. Default 10.
	MinSamples int
	// MinCoverage: the largest batch observed must reach this fraction of
	// the operating batch (the batch the planner runs a replica at), so the
	// profile is never extrapolated beyond 1/MinCoverage times what was
	// seen. Default 0.5.
	MinCoverage float64
	// MaxRelativeError bounds the standard error, relative to the value, of
	// the predicted decode step Td(n) and prefill Tp(n) over the operating
	// range of batch sizes 1..operating batch, or of a replica's capacity
	// under the SLO when the operating point gives the capacity function
	// (either suffices). Default 0.05: two standard errors within 10%.
	MaxRelativeError float64
}

// Defaults of Thresholds.
const (
	DefaultMinSamples       = 10
	DefaultMinCoverage      = 0.5
	DefaultMaxRelativeError = 0.05
)

func (t Thresholds) withDefaults() Thresholds {
	if t.MinSamples <= 0 {
		t.MinSamples = DefaultMinSamples
	}
	if !(t.MinCoverage > 0) {
		t.MinCoverage = DefaultMinCoverage
	}
	if !(t.MaxRelativeError > 0) {
		t.MaxRelativeError = DefaultMaxRelativeError
	}
	return t
}

// OperatingPoint is where the planner will use the profile.
type OperatingPoint struct {
	// Batch is the batch size a replica runs at under the plan (for
	// example the allocator's effective concurrency at the replica's
	// capacity). 0 = unknown: the largest batch observed.
	Batch float64
	// InputTokens is the prompt length of the load. 0 = the estimate's
	// typical prompt length.
	InputTokens float64
	// Capacity, when set, is the planner's capacity of one replica under
	// the SLO (req/s) with the given parameters (0 or less: none). The
	// uncertainty rule then also accepts an estimate whose capacity, the
	// quantity the replica count is made of, is known well enough, even if
	// Td or Tp over the operating range is not: a parameter the plan hardly
	// depends on need not be known to 5% before the profile is used.
	Capacity func(Params) float64
}

// ReadinessReason says why a learned profile is or is not usable.
type ReadinessReason string

// Readiness reasons, in the order the rule checks them.
const (
	ReasonNotEnoughSamples ReadinessReason = "NotEnoughSamples"
	ReasonNarrowBatchRange ReadinessReason = "NarrowBatchRange"
	ReasonUncertain        ReadinessReason = "Uncertain"
	ReasonLearned          ReadinessReason = "Learned"
)

// Readiness is the verdict of the rule, with a message for the status.
type Readiness struct {
	Usable  bool
	Reason  ReadinessReason
	Message string
	// WorstRelativeError is the largest relative standard error of Td or
	// Tp over the operating range, or that of the capacity when that is what
	// made the estimate usable; when neither did, the smaller of the two
	// (NaN before the samples suffice).
	WorstRelativeError float64
}

// Readiness applies the rule deciding whether the planner may use the
// estimate at op: enough samples in both relations, a batch range that
// covers the operating range, and predictions whose standard errors are
// small over it. docs/learned-profiles.md explains the choice.
func (s Estimate) Readiness(th Thresholds, op OperatingPoint) Readiness {
	th = th.withDefaults()
	if s.DecodeSamples < th.MinSamples || s.PrefillSamples < th.MinSamples {
		msg := fmt.Sprintf("%d decode and %d prefill observations accepted; %d of each are needed", s.DecodeSamples, s.PrefillSamples, th.MinSamples)
		if s.DecodeSamples == 0 && s.PrefillSamples == 0 {
			// Nothing learned yet is most often no traffic: say what gives one.
			msg = fmt.Sprintf("no observation yet: each server that serves requests gives one per window; %d of each relation are needed", th.MinSamples)
		}
		return Readiness{Reason: ReasonNotEnoughSamples, WorstRelativeError: math.NaN(), Message: msg}
	}
	nOp := op.Batch
	if !(nOp > 0) || !finite(nOp) {
		nOp = s.BatchMax
	}
	nOp = max(nOp, 1)
	in := op.InputTokens
	if !(in > 0) || !finite(in) {
		in = s.InputTokens
	}
	if s.BatchMax < th.MinCoverage*nOp {
		return Readiness{Reason: ReasonNarrowBatchRange, WorstRelativeError: math.NaN(), Message: fmt.Sprintf(
			"batch sizes %.3g to %.3g observed; the plan runs replicas at %.3g, and at least %.3g must have been seen",
			s.BatchMin, s.BatchMax, nOp, th.MinCoverage*nOp)}
	}
	steps := s.stepTimesReadiness(th, nOp, in)
	if steps.Usable || op.Capacity == nil {
		return steps
	}
	capacity := s.capacityReadiness(th, op.Capacity, nOp)
	if capacity.Usable {
		return capacity
	}
	return Readiness{Reason: ReasonUncertain, WorstRelativeError: math.Min(steps.WorstRelativeError, capacity.WorstRelativeError),
		Message: steps.Message + ", and " + capacity.Message}
}

// stepTimesReadiness is the uncertainty rule on the step times: the
// relative standard errors of Td(n) and Tp(n) (with the covariance of each
// pair) at nine points from batch 1 to nOp.
func (s Estimate) stepTimesReadiness(th Thresholds, nOp, in float64) Readiness {
	worst, at, which := 0.0, 0.0, ""
	const points = 8
	for i := range points + 1 {
		n := 1 + (nOp-1)*float64(i)/points
		if r := relErr(s.Params.Decode(n), s.StdErr.Alpha, s.StdErr.Beta, s.CorrDecode, n); r > worst {
			worst, at, which = r, n, "decode step"
		}
		if r := relErr(s.Params.Prefill(n, in), s.StdErr.Gamma, s.StdErr.Delta, s.CorrPrefill, in*n); r > worst {
			worst, at, which = r, n, "prefill"
		}
	}
	if worst > th.MaxRelativeError {
		return Readiness{Reason: ReasonUncertain, WorstRelativeError: worst, Message: fmt.Sprintf(
			"the %s time at batch %.3g has a standard error of %.1f%%, above %.1f%%", which, at, 100*worst, 100*th.MaxRelativeError)}
	}
	return Readiness{Usable: true, Reason: ReasonLearned, WorstRelativeError: worst, Message: fmt.Sprintf(
		"learned from %d decode and %d prefill observations at batch sizes %.3g to %.3g; standard error at most %.1f%% up to batch %.3g",
		s.DecodeSamples, s.PrefillSamples, s.BatchMin, s.BatchMax, 100*worst, nOp)}
}

// capacityReadiness is the uncertainty rule on the replica's capacity: its
// standard error by the delta method (forward differences of a tenth of a
// standard error in each parameter, the covariance of each relation, the
// two relations independent), relative to the capacity.
func (s Estimate) capacityReadiness(th Thresholds, capacity func(Params) float64, nOp float64) Readiness {
	c0 := capacity(s.Params)
	if !(c0 > 0) || !finite(c0) {
		return Readiness{Reason: ReasonUncertain, WorstRelativeError: math.Inf(1),
			Message: "no replica meets the SLO with the learned profile"}
	}
	grad := func(get func(*Params) *float64, se float64) float64 {
		h := 0.1 * se
		if !(h > 0) {
			return 0
		}
		up := s.Params
		*get(&up) += h
		return (capacity(up) - c0) / h
	}
	gA := grad(func(p *Params) *float64 { return &p.Alpha }, s.StdErr.Alpha)
	gB := grad(func(p *Params) *float64 { return &p.Beta }, s.StdErr.Beta)
	gG := grad(func(p *Params) *float64 { return &p.Gamma }, s.StdErr.Gamma)
	gD := grad(func(p *Params) *float64 { return &p.Delta }, s.StdErr.Delta)
	v := pairVariance(gA, gB, s.StdErr.Alpha, s.StdErr.Beta, s.CorrDecode) +
		pairVariance(gG, gD, s.StdErr.Gamma, s.StdErr.Delta, s.CorrPrefill)
	rel := sqrt(v) / c0
	if !(rel <= th.MaxRelativeError) {
		return Readiness{Reason: ReasonUncertain, WorstRelativeError: rel, Message: fmt.Sprintf(
			"a replica's capacity of %.3g req/s under the SLO has a standard error of %.1f%%, above %.1f%%", c0, 100*rel, 100*th.MaxRelativeError)}
	}
	return Readiness{Usable: true, Reason: ReasonLearned, WorstRelativeError: rel, Message: fmt.Sprintf(
		"learned from %d decode and %d prefill observations at batch sizes %.3g to %.3g; a replica's capacity of %.3g req/s under the SLO (batch %.3g) has a standard error of %.1f%%",
		s.DecodeSamples, s.PrefillSamples, s.BatchMin, s.BatchMax, c0, nOp, 100*rel)}
}

// pairVariance is the variance of g0·θ₀ + g1·θ₁ for standard errors se0,
// se1 and correlation corr (a non-finite gradient gives an infinite
// variance).
func pairVariance(g0, g1, se0, se1, corr float64) float64 {
	v := g0*g0*se0*se0 + g1*g1*se1*se1 + 2*g0*g1*corr*se0*se1
	if math.IsNaN(v) {
		return math.Inf(1)
	}
	return v
}

// relErr is the standard error of θ₀ + θ₁·x relative to its value.
func relErr(value, se0, se1, corr, x float64) float64 {
	if !(value > 0) {
		return math.Inf(1)
	}
	return sqrt(pairVariance(1, x, se0, se1, corr)) / value
}

// DefaultContradictionSigmas is how many standard errors a spec value may
// lie from the estimate before the data are taken to contradict it.
const DefaultContradictionSigmas = 4

// minContradictionSamples is the number of observations each relation needs
// before it may contradict a spec: not one alone, which may be a burst or a
// cold start, and the test is at 4 standard errors. Two (rather than three)
// replace a spec twice too fast one refresh sooner, which on the
// validation day removed the under-provisioned first minutes
// (docs/learned-profiles.md).
const minContradictionSamples = 2

// Contradiction says whether the observations contradict a spec profile:
// once both relations have a few observations, some parameter of the
// spec lies more than sigmas standard errors (0: the default, 4) from the
// estimate. A profile twice too slow or too fast is contradicted within a
// few observations, long before the estimate is Usable; planning with a
// contradicted spec is known to be wrong, so the planner then takes the
// estimate (docs/learned-profiles.md).
func (s Estimate) Contradiction(spec Params, sigmas float64) (bool, string) {
	if !(sigmas > 0) {
		sigmas = DefaultContradictionSigmas
	}
	if s.DecodeSamples < minContradictionSamples || s.PrefillSamples < minContradictionSamples {
		return false, ""
	}
	for _, p := range []struct {
		name          string
		spec, est, se float64
	}{
		{"alpha", spec.Alpha, s.Params.Alpha, s.StdErr.Alpha},
		{"beta", spec.Beta, s.Params.Beta, s.StdErr.Beta},
		{"gamma", spec.Gamma, s.Params.Gamma, s.StdErr.Gamma},
		{"delta", spec.Delta, s.Params.Delta, s.StdErr.Delta},
	} {
		if d := math.Abs(p.spec - p.est); d > sigmas*p.se {
			return true, fmt.Sprintf("the spec %s of %.4g lies %.0f standard errors from the learned %.4g", p.name, p.spec, d/p.se, p.est)
		}
	}
	return false, ""
}
