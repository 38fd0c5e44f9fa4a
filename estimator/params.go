package estimator

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidInput is wrapped by every error about an argument outside the
// domain the package accepts (test with errors.Is).
var ErrInvalidInput = errors.New("invalid input")

// MinAlpha is the smallest α an estimate takes: the allocator requires
// α > 0 (a decode step takes time), and one microsecond is far below any
// real server.
const MinAlpha = 1e-3

// Params are the four profile parameters, in milliseconds: Td(n) = Alpha +
// Beta·n, Tp(n) = Gamma + Delta·in·n.
type Params struct {
	Alpha, Beta, Gamma, Delta float64
}

// Decode is Td(n) in ms.
func (p Params) Decode(n float64) float64 { return p.Alpha + p.Beta*n }

// Prefill is Tp(n) in ms for requests of `in` input tokens.
func (p Params) Prefill(n, in float64) float64 { return p.Gamma + p.Delta*in*n }

// validate checks that every value is finite and non-negative, and alpha
// positive when positiveAlpha is set.
func (p Params) validate(what string, positiveAlpha bool) error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"alpha", p.Alpha}, {"beta", p.Beta}, {"gamma", p.Gamma}, {"delta", p.Delta}} {
		if !(f.v >= 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%w: %s %s must be non-negative and finite, got %v", ErrInvalidInput, what, f.name, f.v)
		}
	}
	if positiveAlpha && !(p.Alpha > 0) {
		return fmt.Errorf("%w: %s alpha must be greater than 0, got %v", ErrInvalidInput, what, p.Alpha)
	}
	return nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func sqrt(v float64) float64 { return math.Sqrt(max(v, 0)) }
