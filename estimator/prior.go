package estimator

import (
	"fmt"
	"strings"
)

// Prior is the belief about the parameters before any observation: a mean
// and a standard deviation per parameter, independent of each other.
type Prior struct {
	Mean   Params
	StdDev Params
	// Source says where it comes from ("spec", or "default for H100").
	Source string
}

// SpecRelativeStdDev is the standard deviation of a spec-profile prior
// relative to its values. A profile measured by hand is a good start but may
// be from another server version, flags or quantization: 50% lets the data
// correct a profile twice too slow or twice too fast within a few
// observations, while still being worth a few observations itself.
const SpecRelativeStdDev = 0.5

// specStdDevFloor bounds the prior standard deviations from below so that a
// spec value of 0 (β, γ or δ may be 0) is not taken as certain.
var specStdDevFloor = Params{Alpha: 0.5, Beta: 0.02, Gamma: 2, Delta: 0.002}

// SpecPrior is the prior centred on a profile from the VA's spec.
func SpecPrior(p Params) (Prior, error) {
	if err := p.validate("spec profile", true); err != nil {
		return Prior{}, err
	}
	sd := func(v, floor float64) float64 { return max(SpecRelativeStdDev*v, floor) }
	return Prior{
		Mean: p,
		StdDev: Params{
			Alpha: sd(p.Alpha, specStdDevFloor.Alpha),
			Beta:  sd(p.Beta, specStdDevFloor.Beta),
			Gamma: sd(p.Gamma, specStdDevFloor.Gamma),
			Delta: sd(p.Delta, specStdDevFloor.Delta),
		},
		Source: "spec",
	}, nil
}

// defaultMeans are typical parameters of an 8B-class model per accelerator
// family, ms. They are only a starting point: the default prior's standard
// deviations are as large as the means (twice for the per-request slopes),
// so a few observations outweigh them, and the planner never uses a profile
// that is still close to its prior (see Readiness).
var defaultMeans = []struct {
	family string
	mean   Params
}{
	{"B200", Params{Alpha: 5, Beta: 0.15, Gamma: 10, Delta: 0.01}},
	{"H200", Params{Alpha: 7, Beta: 0.25, Gamma: 13, Delta: 0.016}},
	{"H100", Params{Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}},
	{"MI300", Params{Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}},
	{"A100", Params{Alpha: 12, Beta: 0.45, Gamma: 25, Delta: 0.035}},
	{"L40", Params{Alpha: 18, Beta: 0.7, Gamma: 35, Delta: 0.06}},
	{"A10", Params{Alpha: 25, Beta: 1.0, Gamma: 50, Delta: 0.1}},
	{"L4", Params{Alpha: 30, Beta: 1.2, Gamma: 60, Delta: 0.12}},
	{"T4", Params{Alpha: 40, Beta: 1.6, Gamma: 80, Delta: 0.16}},
}

// unknownAccelerator is the mean used for an accelerator not in the table:
// a mid-range card, with doubled standard deviations.
var unknownAccelerator = Params{Alpha: 15, Beta: 0.6, Gamma: 30, Delta: 0.05}

// DefaultPrior is the weak prior for a variant without a spec profile,
// chosen by accelerator family (case-insensitive substring, e.g.
// "NVIDIA-H100-80GB" is H100).
func DefaultPrior(accelerator string) Prior {
	up := strings.ToUpper(accelerator)
	for _, d := range defaultMeans {
		if strings.Contains(up, d.family) {
			return weak(d.mean, 1, fmt.Sprintf("default for %s", d.family))
		}
	}
	return weak(unknownAccelerator, 2, fmt.Sprintf("default for an unknown accelerator %q", accelerator))
}

// weak spreads a prior around m: standard deviations of scale times the
// intercepts and twice that for the slopes.
func weak(m Params, scale float64, source string) Prior {
	return Prior{
		Mean: m,
		StdDev: Params{
			Alpha: scale * m.Alpha, Beta: 2 * scale * m.Beta,
			Gamma: scale * m.Gamma, Delta: 2 * scale * m.Delta,
		},
		Source: source,
	}
}

// validate checks that the prior can start an estimator.
func (p Prior) validate() error {
	if err := p.Mean.validate("prior mean", true); err != nil {
		return err
	}
	if err := p.StdDev.validate("prior standard deviation", false); err != nil {
		return err
	}
	for _, v := range []float64{p.StdDev.Alpha, p.StdDev.Beta, p.StdDev.Gamma, p.StdDev.Delta} {
		if !(v > 0) {
			return fmt.Errorf("%w: every prior standard deviation must be positive, got %+v", ErrInvalidInput, p.StdDev)
		}
	}
	return nil
}
