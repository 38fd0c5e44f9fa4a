package allocator

import (
	"fmt"
	"math"
)

// SLO holds the latency targets of a model, in milliseconds.
type SLO struct {
	// TTFT is the time-to-first-token target.
	TTFT float64
	// ITL is the inter-token-latency (time per output token) target.
	ITL float64
}

// Validate reports whether both targets are positive and finite.
func (s SLO) Validate() error {
	if !(s.TTFT > 0) || math.IsInf(s.TTFT, 0) {
		return fmt.Errorf("%w: SLO TTFT must be positive and finite, got %v", ErrInvalidInput, s.TTFT)
	}
	if !(s.ITL > 0) || math.IsInf(s.ITL, 0) {
		return fmt.Errorf("%w: SLO ITL must be positive and finite, got %v", ErrInvalidInput, s.ITL)
	}
	return nil
}

// Metric names used in ErrInfeasible.
const (
	MetricTTFT = "TTFT"
	MetricITL  = "ITL"
)

// ErrInfeasible says that a variant cannot meet an SLO target at any load:
// even a single request on an idle replica is too slow. Test with errors.As.
type ErrInfeasible struct {
	// Metric is MetricTTFT or MetricITL (TTFT is checked first).
	Metric string
	// Achievable is the best value of the metric, reached as the load
	// vanishes, in ms.
	Achievable float64
	// Target is the SLO target, in ms.
	Target float64
}

func (e *ErrInfeasible) Error() string {
	return fmt.Sprintf("%s target of %.4g ms cannot be met: the best achievable is %.4g ms, at vanishing load", e.Metric, e.Target, e.Achievable)
}

// stabilityFactor caps the capacity of a replica below its saturation
// throughput μ(N): a queue driven at μ(N) grows without bound.
const stabilityFactor = 0.9

// capacityRelTol is the relative precision of the capacity bisection. The
// inputs (profiles, token averages) are far less precise than this.
const capacityRelTol = 1e-5

// Capacity returns the largest arrival rate (req/s) at which one replica meets
// both SLO targets, capped at 0.9·μ(N). Both predicted TTFT and ITL increase
// with the rate, so the largest such rate is found by bisection. When even a
// vanishing load misses a target the error is an *ErrInfeasible.
func (m Model) Capacity(slo SLO) (float64, error) {
	if m.k == 0 {
		return 0, fmt.Errorf("%w: model not built with NewModel", ErrInvalidInput)
	}
	if err := slo.Validate(); err != nil {
		return 0, err
	}
	idle := m.predict(0)
	if idle.TTFT > slo.TTFT {
		return 0, &ErrInfeasible{Metric: MetricTTFT, Achievable: idle.TTFT, Target: slo.TTFT}
	}
	if idle.ITL > slo.ITL {
		return 0, &ErrInfeasible{Metric: MetricITL, Achievable: idle.ITL, Target: slo.ITL}
	}
	meets := func(rate float64) bool {
		p := m.predict(rate)
		return p.TTFT <= slo.TTFT && p.ITL <= slo.ITL
	}
	hi := stabilityFactor * m.MaxRate()
	if meets(hi) {
		return hi, nil
	}
	lo := 0.0
	for hi-lo > capacityRelTol*hi {
		mid := lo + (hi-lo)/2
		if meets(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		// The targets are met at vanishing load but not at any measurable one:
		// the target sits exactly on the best achievable value.
		p := m.predict(hi)
		if p.TTFT > slo.TTFT {
			return 0, &ErrInfeasible{Metric: MetricTTFT, Achievable: idle.TTFT, Target: slo.TTFT}
		}
		return 0, &ErrInfeasible{Metric: MetricITL, Achievable: idle.ITL, Target: slo.ITL}
	}
	return lo, nil
}

// Capacity is NewModel followed by Model.Capacity.
func Capacity(p Profile, slo SLO, avgIn, avgOut float64) (float64, error) {
	m, err := NewModel(p, avgIn, avgOut)
	if err != nil {
		return 0, err
	}
	return m.Capacity(slo)
}
