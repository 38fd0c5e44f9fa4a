package estimator

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// LineFit is the least-squares fit of one relation y = Intercept + Slope·x.
type LineFit struct {
	Intercept, Slope float64
	// StdErr of the intercept and the slope (NaN with fewer than three
	// points: two points fit exactly and say nothing of the noise).
	InterceptStdErr, SlopeStdErr float64
	// RMSE is the root-mean-square residual (ms); MaxRelError the largest
	// |residual| / measured value.
	RMSE, MaxRelError float64
	// Points is the number of measurements fitted.
	Points int
	// Constrained is set when the unconstrained fit left the domain (a
	// negative slope, or an intercept below its floor) and the parameter was
	// fixed at its bound.
	Constrained bool
}

// FitResult is the batch fit of both relations.
type FitResult struct {
	Params, StdErr  Params
	Decode, Prefill LineFit
}

// fitIterations bounds the plug-in fixed point of Fit; it settles to
// 1e-9 in a handful of rounds on real tables.
const fitIterations = 50

// Fit fits the profile to measurements by least squares on relative
// residuals (each point weighs 1/y², so a 10% miss counts the same at
// batch 1 as at batch 200), each relation read through the serving physics
// of physics.go. The corrections of each relation use the other's
// estimate, so the two fits alternate until they settle. Each relation
// needs measurements at two or more distinct points (decode: batch sizes;
// prefill: in·k). Parameters are kept in the allocator's domain
// (α ≥ MinAlpha, the others ≥ 0) by fixing the offending one at its bound
// and refitting the other.
func Fit(obs []Observation) (FitResult, error) {
	for i, o := range obs {
		if err := o.validate(); err != nil {
			return FitResult{}, fmt.Errorf("measurement %d: %w", i+1, err)
		}
	}
	var res FitResult
	var p Params
	for range fitIterations {
		var dx, dy, px, py []float64
		for _, o := range obs {
			if o.ITL > 0 {
				x, y := decodePoint(p, o)
				dx, dy = append(dx, x), append(dy, y)
			}
			if o.Prefill > 0 && o.InputTokens > 0 {
				if x, y, ok := prefillPoint(p, o, o.InputTokens); ok {
					px, py = append(px, x), append(py, y)
				}
			}
		}
		d, err := fitLine(dx, dy, MinAlpha, "batch sizes")
		if err != nil {
			return FitResult{}, fmt.Errorf("decode (ITL against batch size): %w", err)
		}
		pf, err := fitLine(px, py, 0, "values of input tokens × admitted requests")
		if err != nil {
			return FitResult{}, fmt.Errorf("prefill (TTFT against input tokens × admitted requests): %w", err)
		}
		next := Params{Alpha: d.Intercept, Beta: d.Slope, Gamma: pf.Intercept, Delta: pf.Slope}
		res = FitResult{
			Params:  next,
			StdErr:  Params{Alpha: d.InterceptStdErr, Beta: d.SlopeStdErr, Gamma: pf.InterceptStdErr, Delta: pf.SlopeStdErr},
			Decode:  d,
			Prefill: pf,
		}
		settled := worstChange(p, next) < 1e-9
		p = next
		if settled {
			break
		}
	}
	return res, nil
}

// worstChange is the largest relative change between two estimates.
func worstChange(a, b Params) float64 {
	rel := func(x, y float64) float64 { return math.Abs(x-y) / math.Max(math.Abs(y), 1e-12) }
	return max(rel(a.Alpha, b.Alpha), rel(a.Beta, b.Beta), rel(a.Gamma, b.Gamma), rel(a.Delta, b.Delta))
}

// fitLine is weighted least squares of y = a + b·x with weights 1/y²,
// a ≥ floor and b ≥ 0.
func fitLine(x, y []float64, floor float64, what string) (LineFit, error) {
	m := len(x)
	distinct := map[float64]bool{}
	for _, v := range x {
		distinct[v] = true
	}
	if len(distinct) < 2 {
		return LineFit{}, fmt.Errorf("%w: need measurements at two or more distinct %s, got %d measurement(s) at %d", ErrInvalidInput, what, m, len(distinct))
	}
	// Rows scaled by 1/y: ordinary least squares of the scaled system.
	a := mat.NewDense(m, 2, nil)
	b := mat.NewVecDense(m, nil)
	for i := range m {
		a.Set(i, 0, 1/y[i])
		a.Set(i, 1, x[i]/y[i])
		b.SetVec(i, 1)
	}
	var theta mat.VecDense
	if err := theta.SolveVec(a, b); err != nil {
		return LineFit{}, fmt.Errorf("%w: the measurements do not determine a line: %w", ErrInvalidInput, err)
	}
	fit := LineFit{Intercept: theta.AtVec(0), Slope: theta.AtVec(1), Points: m}
	free := [2]bool{true, true}
	switch {
	case fit.Slope < 0:
		// Flat: the weighted mean, a = Σ(1/y) / Σ(1/y²).
		var s1, s2 float64
		for _, v := range y {
			s1 += 1 / v
			s2 += 1 / (v * v)
		}
		fit.Intercept, fit.Slope, fit.Constrained, free[1] = max(s1/s2, floor), 0, true, false
	case fit.Intercept < floor:
		// Through (0, floor): b = Σ (y−floor)·x/y² / Σ x²/y².
		var num, den float64
		for i := range m {
			num += (y[i] - floor) * x[i] / (y[i] * y[i])
			den += x[i] * x[i] / (y[i] * y[i])
		}
		fit.Intercept, fit.Slope, fit.Constrained, free[0] = floor, max(num/den, 0), true, false
	}
	var rss, wrss float64
	for i := range m {
		r := y[i] - (fit.Intercept + fit.Slope*x[i])
		rss += r * r
		wrss += r * r / (y[i] * y[i])
		fit.MaxRelError = math.Max(fit.MaxRelError, math.Abs(r)/y[i])
	}
	fit.RMSE = math.Sqrt(rss / float64(m))
	fit.InterceptStdErr, fit.SlopeStdErr = math.NaN(), math.NaN()
	nFree := 0
	for _, f := range free {
		if f {
			nFree++
		}
	}
	if m <= nFree {
		return fit, nil
	}
	// Cov = s²·(AᵀA)⁻¹ over the free parameters, s² = weighted RSS / (m − p).
	s2 := wrss / float64(m-nFree)
	var ata mat.Dense
	ata.Mul(a.T(), a)
	switch {
	case free[0] && free[1]:
		var inv mat.Dense
		if err := inv.Inverse(&ata); err == nil {
			fit.InterceptStdErr, fit.SlopeStdErr = sqrt(s2*inv.At(0, 0)), sqrt(s2*inv.At(1, 1))
		}
	case free[0]:
		fit.InterceptStdErr, fit.SlopeStdErr = sqrt(s2/ata.At(0, 0)), 0
	default:
		fit.InterceptStdErr, fit.SlopeStdErr = 0, sqrt(s2/ata.At(1, 1))
	}
	return fit, nil
}
