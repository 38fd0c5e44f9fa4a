package allocator

import (
	"fmt"
	"math"
	"time"
)

// Policy holds the rules applied on top of the cost optimum. The zero value
// turns every rule off: no scale to zero, no stabilization, no hysteresis.
type Policy struct {
	// ScaleToZero lets a group with no request within Retention go to the
	// variants' minimum replicas (usually 0).
	ScaleToZero bool
	// Retention is how long a group must be idle before it scales to zero.
	Retention time.Duration
	// StabilizationWindow holds a scale-down at the highest recommendation
	// seen within it (as the HPA does). 0 scales down at once.
	StabilizationWindow time.Duration
	// CostSavingThreshold is the relative saving (0.1 = 10%) a move of
	// replicas to a cheaper mix must bring before it is made.
	CostSavingThreshold float64
	// MaxReplicasPerVariant is the operator-wide ceiling of any variant's
	// replicas (0: none). A variant whose Min exceeds it is left out.
	MaxReplicasPerVariant int
	// ScaleUp limits the growth of a variant per period (zero: no limit).
	ScaleUp ScaleUpPolicy
	// LoadJump holds an implausible jump of the arrival rate (zero: off).
	LoadJump LoadJumpPolicy
	// BacklogDrain sizes a group for its requests waiting (Load.Waiting) to
	// be served within this time on top of the arrival rate (zero: off).
	// Replicas sized for the arrival rate alone drain a queue only with
	// what they have beyond it, which after a burst or a wake-up from zero
	// can take longer than the burst lasted.
	BacklogDrain time.Duration
}

// ScaleUpPolicy lets a variant grow, within any Period, to at most the larger
// of base+MaxReplicas and base·(1+MaxPercent/100), base being the fewest
// replicas it ran within the period (as the HPA's behavior.scaleUp with
// selectPolicy Max).
type ScaleUpPolicy struct {
	MaxReplicas int
	MaxPercent  int
	Period      time.Duration
}

// LoadJumpPolicy treats an arrival rate above Factor times the last accepted
// one (and above MinJumpRate) as implausible until it persisted for
// Confirmation: the plan then holds the replicas as with missing metrics.
type LoadJumpPolicy struct {
	Factor       float64
	Confirmation time.Duration
}

// DefaultPolicy returns the policy the operator applies under its default
// configuration (package config): scale to zero off (10 minutes retention
// when turned on), 5 minutes stabilization, 10% threshold, the bounds on
// actions and a backlog drained within 2 minutes. A test in package
// controller fails when the two drift apart.
func DefaultPolicy() Policy {
	return Policy{
		ScaleToZero:         false,
		Retention:           10 * time.Minute,
		StabilizationWindow: 5 * time.Minute,
		CostSavingThreshold: 0.10,
		// Bounded actions (issue 12): at most 100 replicas per variant,
		// growth of 4 replicas or 100% per minute, rate jumps of 10× held
		// for 2 minutes.
		MaxReplicasPerVariant: 100,
		ScaleUp:               ScaleUpPolicy{MaxReplicas: 4, MaxPercent: 100, Period: time.Minute},
		LoadJump:              LoadJumpPolicy{Factor: 10, Confirmation: 2 * time.Minute},
		BacklogDrain:          2 * time.Minute,
	}
}

// Validate reports whether the durations are non-negative and the threshold
// is in [0, 1].
func (p Policy) Validate() error {
	if p.Retention < 0 {
		return fmt.Errorf("%w: retention must not be negative, got %v", ErrInvalidInput, p.Retention)
	}
	if p.StabilizationWindow < 0 {
		return fmt.Errorf("%w: stabilization window must not be negative, got %v", ErrInvalidInput, p.StabilizationWindow)
	}
	if p.BacklogDrain < 0 {
		return fmt.Errorf("%w: backlog drain time must not be negative, got %v", ErrInvalidInput, p.BacklogDrain)
	}
	if !(p.CostSavingThreshold >= 0 && p.CostSavingThreshold <= 1) {
		return fmt.Errorf("%w: cost saving threshold must be in [0, 1], got %v", ErrInvalidInput, p.CostSavingThreshold)
	}
	if p.MaxReplicasPerVariant < 0 || p.ScaleUp.MaxReplicas < 0 || p.ScaleUp.MaxPercent < 0 || p.ScaleUp.Period < 0 {
		return fmt.Errorf("%w: replica ceiling and scale-up limit must not be negative, got %d and %+v", ErrInvalidInput, p.MaxReplicasPerVariant, p.ScaleUp)
	}
	if !(p.LoadJump.Factor == 0 || (p.LoadJump.Factor > 1 && !math.IsInf(p.LoadJump.Factor, 0))) || p.LoadJump.Confirmation < 0 {
		return fmt.Errorf("%w: load jump factor must be 0 (off) or finite and above 1, confirmation not negative, got %+v", ErrInvalidInput, p.LoadJump)
	}
	return nil
}

// State is what the policy remembers between two plans of a group. The
// caller owns it: pass the State of the previous Result into the next Input
// (the zero State is a fresh start). Plan never modifies the State it is
// given.
type State struct {
	// LastActive is the last time the group was seen receiving requests
	// (zero: unknown).
	LastActive time.Time
	// Recommendations holds, per variant name, the recommendations within
	// the stabilization window that can still hold a scale-down: oldest
	// first, with strictly decreasing replicas (a newer recommendation at
	// least as high makes an older one irrelevant, so the list stays short).
	Recommendations map[string][]Recommendation
	// ScaleUpBase holds, per variant name, the replicas seen running within
	// the scale-up period that can still be the period's minimum (oldest
	// first, strictly increasing), for Policy.ScaleUp.
	ScaleUpBase map[string][]Recommendation
	// Rate is the last arrival rate accepted as plausible; RateKnown says
	// whether there is one (a fresh start has none and accepts any rate).
	Rate      float64
	RateKnown bool
	// JumpSince is when an implausible jump was first seen (zero: none).
	JumpSince time.Time
	// LeftZero is when the group last left zero replicas (zero: not seen
	// in this process); AtZero whether it had none at the last plan.
	LeftZero time.Time
	AtZero   bool
}

// Recommendation is one replica count recommended at a time.
type Recommendation struct {
	Time     time.Time
	Replicas int
}

// activity updates LastActive and says whether the group is idle: no
// request now and none within the retention period. A known count of
// requests in the retention window decides; without it the clock since the
// last activity does, started now when it was never started.
func activity(last time.Time, load Load, retention time.Duration, now time.Time) (lastActive time.Time, idle bool) {
	switch {
	case load.Rate > 0 || load.Waiting > 0:
		return now, false
	case load.RequestsInRetention != nil:
		if *load.RequestsInRetention > 0 {
			return now, false
		}
		return last, true
	case last.IsZero():
		return now, retention <= 0
	default:
		return last, now.Sub(last) >= retention
	}
}

// stabilize applies the scale-down stabilization to one variant. hist is the
// variant's history; when there is none at all (known false: a new variant
// or a restarted controller) it is seeded with the current replicas at now,
// so that nothing scales down before a full window was observed. It returns
// the count to use, the new history and, when a scale-down is held, the time
// at which the held value drops.
func stabilize(hist []Recommendation, known bool, window time.Duration, now time.Time, current, rec int) (final int, out []Recommendation, until time.Time) {
	if window <= 0 {
		return rec, nil, time.Time{}
	}
	cutoff := now.Add(-window)
	out = make([]Recommendation, 0, len(hist)+2)
	for _, r := range hist {
		if r.Time.After(cutoff) {
			out = append(out, r)
		}
	}
	if !known {
		out = append(out, Recommendation{Time: now, Replicas: current})
	}
	out = pushRecommendation(out, Recommendation{Time: now, Replicas: rec})
	final = rec
	if rec < current {
		final = min(current, max(rec, out[0].Replicas))
	}
	if final > rec {
		// The held value stays until the last entry at or above it expires.
		for _, r := range out {
			if r.Replicas >= final {
				until = r.Time.Add(window)
			}
		}
	}
	return final, out, until
}

// pushRecommendation appends r, dropping older entries it dominates.
func pushRecommendation(h []Recommendation, r Recommendation) []Recommendation {
	for len(h) > 0 && h[len(h)-1].Replicas <= r.Replicas {
		h = h[:len(h)-1]
	}
	return append(h, r)
}

// earliest returns the earlier of two times, a zero time meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

// finite clamps ±Inf to ±MaxFloat64 and NaN to 0. Valid input never
// produces either; this guard makes sure none can leave the package.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}
