package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Dist is a distribution of token counts.
type Dist interface {
	// Sample draws one count.
	Sample(rng *rand.Rand) int
	// Mean is the distribution's mean after clamping (estimated for
	// lognormals, see LogNormal.Mean).
	Mean() float64
	String() string
}

// LogNormal is a lognormal distribution of token counts with the given
// mean and log-space standard deviation Sigma, rounded and clamped to
// [Min, Max] (a context limit).
type LogNormal struct {
	Mu, Sigma float64
	Min, Max  int
}

// LogNormalWithMean returns the lognormal with mean m (before clamping) and
// log-space standard deviation sigma: mu = ln m − σ²/2.
func LogNormalWithMean(m, sigma float64, lo, hi int) LogNormal {
	return LogNormal{Mu: math.Log(m) - sigma*sigma/2, Sigma: sigma, Min: lo, Max: hi}
}

// Sample draws one clamped, rounded count.
func (d LogNormal) Sample(rng *rand.Rand) int {
	x := math.Exp(d.Mu + d.Sigma*rng.NormFloat64())
	return clampInt(int(math.Round(x)), d.Min, d.Max)
}

// Mean is the mean of the clamped distribution, by numerical integration.
func (d LogNormal) Mean() float64 {
	// E[clamp(X)] over the normal quantiles, midpoint rule on z.
	const steps = 20000
	sum := 0.0
	for i := range steps {
		p := (float64(i) + 0.5) / steps
		z := math.Sqrt2 * math.Erfinv(2*p-1)
		x := math.Round(math.Exp(d.Mu + d.Sigma*z))
		sum += math.Min(math.Max(x, float64(d.Min)), float64(d.Max))
	}
	return sum / steps
}

// Median is exp(Mu).
func (d LogNormal) Median() float64 { return math.Exp(d.Mu) }

func (d LogNormal) String() string {
	return fmt.Sprintf("lognormal(median %.0f, σ %.2f, [%d, %d])", d.Median(), d.Sigma, d.Min, d.Max)
}

// Geometric is the number of failures before the first success with mean
// M on {Min, Min+1, ...}: the discrete counterpart of an exponential.
type Geometric struct {
	M   float64
	Min int
}

// Sample draws Min + a geometric count with mean M.
func (d Geometric) Sample(rng *rand.Rand) int {
	// Inverse transform: floor(ln U / ln(1 − p)) with p = 1/(M+1).
	p := 1 / (d.M + 1)
	u := 1 - rng.Float64() // (0, 1]
	return d.Min + int(math.Floor(math.Log(u)/math.Log1p(-p)))
}

// Mean is Min + M.
func (d Geometric) Mean() float64 { return float64(d.Min) + d.M }

func (d Geometric) String() string { return fmt.Sprintf("%d + geometric(mean %.0f)", d.Min, d.M) }

// Fixed always gives N.
type Fixed struct{ N int }

// Sample returns N.
func (d Fixed) Sample(*rand.Rand) int { return d.N }

// Mean is N.
func (d Fixed) Mean() float64 { return float64(d.N) }

func (d Fixed) String() string { return fmt.Sprintf("fixed %d", d.N) }

// Shape is the joint description of a request's lengths (independent).
type Shape struct {
	Name    string
	In, Out Dist
}

func clampInt(x, lo, hi int) int { return min(max(x, lo), hi) }
