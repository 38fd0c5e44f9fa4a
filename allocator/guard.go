package allocator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Reasons and outcomes of the guards against bad input (issue 12): they
// bound what one wrong number can do to a group.
const (
	// ReasonScaleUpLimited: the scale-up limit (Policy.ScaleUp) held the
	// increase back; the rest follows in later periods.
	ReasonScaleUpLimited Reason = "ScaleUpLimited"
	// ReasonCeiling: the operator-wide ceiling (Policy.MaxReplicasPerVariant),
	// not the variant's own maximum, capped the count.
	ReasonCeiling Reason = "Ceiling"
	// ReasonMetricsImplausible: the arrival rate jumped beyond the plausible
	// (Policy.LoadJump); the current replicas are held until it is confirmed.
	ReasonMetricsImplausible Reason = "MetricsImplausible"

	// OutcomeMetricsStale: the load reading was implausible and held, as
	// stale metrics are (the API's MetricsAvailable reason MetricsStale).
	OutcomeMetricsStale Outcome = "MetricsStale"
)

// Plan decides the replicas of every variant of a model group. A variant
// whose own input is invalid (a cost out of range, bounds that contradict
// each other, a minimum above the operator's ceiling) is left out with its
// error in its Decision (Excluded); the others are planned without it. A group
// with more than MaxVariants variants is planned with a heuristic (Heuristic,
// CostBound). The error is non-nil only when the group as a whole cannot be
// planned (no time, no valid SLO or policy, a bad load reading, duplicate
// names). cache may be nil.
func Plan(in Input, cache *CapacityCache) (Result, error) {
	if err := checkNames(in.Variants); err != nil {
		return Result{}, err
	}
	sub := in
	sub.Variants = nil
	excluded := make([]error, len(in.Variants))
	capped := make(map[string]bool)
	for i, v := range in.Variants {
		if err := v.validateWithin(in.Policy.MaxReplicasPerVariant); err != nil {
			excluded[i] = err
			continue
		}
		if c := in.Policy.MaxReplicasPerVariant; c > 0 && (v.Max < 0 || v.Max > c) {
			v.Max, capped[v.Name] = c, true
		}
		sub.Variants = append(sub.Variants, v)
	}

	var jump jumpVerdict
	if in.Load.Available {
		if err := in.Load.validate(); err != nil {
			return Result{}, err
		}
		jump = checkLoadJump(in.State, in.Load.Rate, in.Policy.LoadJump, in.Now)
		// The jump guard judges the measured arrival rate; the backlog is
		// added after it, so a queue never reads as an implausible rate.
		sub.Load = withBacklog(in.Load, in.Policy.BacklogDrain)
	}

	var res Result
	var err error
	switch {
	case jump.hold:
		if err = sub.Validate(); err == nil {
			res = holdOnMissingMetrics(sub)
			res.Outcome, res.NextEvaluation = OutcomeMetricsStale, jump.until
			for i := range res.Variants {
				res.Variants[i].Reason = ReasonMetricsImplausible
			}
		}
	case len(sub.Variants) > MaxVariants:
		res, err = planHeuristic(sub, cache)
	default:
		res, err = planValid(sub, cache)
	}
	if err != nil {
		return Result{}, err
	}
	if in.Load.Available {
		res.State.Rate, res.State.RateKnown, res.State.JumpSince = jump.rate, jump.rateKnown, jump.since
	} else {
		res.State.Rate, res.State.RateKnown, res.State.JumpSince = in.State.Rate, in.State.RateKnown, in.State.JumpSince
	}
	if res.State.ScaleUpBase == nil && len(in.State.ScaleUpBase) > 0 {
		// Held plans keep the scale-up history, so a gap does not reset it.
		res.State.ScaleUpBase = in.State.ScaleUpBase
	}
	for i := range res.Variants {
		d := &res.Variants[i]
		if capped[d.Name] && d.Reason == ReasonBounds && d.Replicas == in.Policy.MaxReplicasPerVariant {
			d.Reason = ReasonCeiling
		}
	}
	return withExcluded(in.Variants, res, excluded), nil
}

// checkNames refuses empty and duplicate names: decisions are matched by name.
func checkNames(vs []Variant) error {
	seen := make(map[string]bool, len(vs))
	for _, v := range vs {
		if v.Name == "" {
			return fmt.Errorf("%w: variant name must not be empty", ErrInvalidInput)
		}
		if seen[v.Name] {
			return fmt.Errorf("%w: duplicate variant name %q", ErrInvalidInput, v.Name)
		}
		seen[v.Name] = true
	}
	return nil
}

// validateWithin is validate plus the operator's ceiling: a minimum above it
// is a typo the operator refuses to act on.
func (v Variant) validateWithin(ceiling int) error {
	if err := v.validate(); err != nil {
		return err
	}
	if ceiling > 0 && v.Min > ceiling {
		return fmt.Errorf("%w: variant %q: min replicas %d exceed the operator's ceiling of %d replicas per variant",
			ErrInvalidInput, v.Name, v.Min, ceiling)
	}
	return nil
}

// withExcluded returns res with one decision per input variant, in input
// order: the planned ones from res, the excluded ones holding their current
// replicas with their error.
func withExcluded(all []Variant, res Result, excluded []error) Result {
	byName := make(map[string]Decision, len(res.Variants))
	for _, d := range res.Variants {
		byName[d.Name] = d
	}
	out := make([]Decision, len(all))
	for i, v := range all {
		if excluded[i] != nil {
			out[i] = Decision{Name: v.Name, Replicas: max(v.Current, 0), Err: excluded[i], Excluded: true}
			continue
		}
		out[i] = byName[v.Name]
	}
	res.Variants = out
	return res
}

// planHeuristic plans a group larger than the exact optimizer takes: the
// MaxVariants variants with the lowest cost per capacity (cost per replica
// when the capacity is unknown) are planned exactly; every other variant
// goes to its minimum, through the stabilization like any scale-down. The
// result states a lower bound of the optimal cost: the linear relaxation over
// all variants.
func planHeuristic(in Input, cache *CapacityCache) (Result, error) {
	caps := make([]float64, len(in.Variants))
	if in.Load.Available && in.Load.tokensKnown() {
		avgIn, avgOut := RoundTokens(in.Load.AvgIn), RoundTokens(in.Load.AvgOut)
		for i, v := range in.Variants {
			if c, err := cache.Capacity(v.Profile, in.SLO, avgIn, avgOut); err == nil {
				caps[i] = c
			}
		}
	}
	order := make([]int, len(in.Variants))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(unitPrice(in.Variants[a].Cost, caps[a]), unitPrice(in.Variants[b].Cost, caps[b])),
			cmp.Compare(in.Variants[a].Cost, in.Variants[b].Cost), cmp.Compare(in.Variants[a].Name, in.Variants[b].Name))
	})
	chosen := make(map[int]bool, MaxVariants)
	for _, i := range order[:MaxVariants] {
		chosen[i] = true
	}
	sub := in
	sub.Variants = nil
	for i, v := range in.Variants {
		if chosen[i] {
			sub.Variants = append(sub.Variants, v)
		}
	}
	res, err := planValid(sub, cache)
	if err != nil {
		return Result{}, err
	}
	for i, v := range in.Variants {
		if chosen[i] {
			continue
		}
		n, reason := v.Min, ReasonBounds
		if !in.Load.Available {
			n, reason = v.bounded(v.Current), ReasonMetricsMissing
		} else if in.Policy.StabilizationWindow > 0 {
			prev, known := in.State.Recommendations[v.Name]
			final, hist, until := stabilize(prev, known, in.Policy.StabilizationWindow, in.Now, v.Current, n)
			if len(hist) > 0 {
				if res.State.Recommendations == nil {
					res.State.Recommendations = map[string][]Recommendation{}
				}
				res.State.Recommendations[v.Name] = hist
			}
			if final > n {
				n, reason = v.bounded(final), ReasonStabilized
				res.NextEvaluation = earliest(res.NextEvaluation, until)
			}
		}
		res.Variants = append(res.Variants, Decision{Name: v.Name, Replicas: n, Reason: reason, Capacity: caps[i], Cost: finite(v.Cost * float64(n))})
	}
	res.Heuristic = true
	res.CostBound = costLowerBound(in.Variants, caps, in.Load)
	return res, nil
}

// unitPrice is the cost of one req/s of capacity, or of one replica when the
// capacity is unknown (those sort after every variant with capacity).
func unitPrice(cost, capacity float64) float64 {
	if capacity > 0 {
		return cost / capacity
	}
	return math.MaxFloat64
}

// costLowerBound is the optimum of the linear relaxation: every variant at
// its minimum, then the rest of the demand bought at the lowest cost per
// capacity first, fractionally. No integer plan costs less.
func costLowerBound(vs []Variant, caps []float64, load Load) float64 {
	cost, carried := 0.0, 0.0
	type offer struct{ price, room float64 }
	var offers []offer
	for i, v := range vs {
		cost += v.Cost * float64(v.Min)
		carried += caps[i] * float64(v.Min)
		if caps[i] > 0 {
			room := math.Inf(1)
			if v.Max >= 0 {
				room = float64(v.Max-v.Min) * caps[i]
			}
			offers = append(offers, offer{v.Cost / caps[i], room})
		}
	}
	if !load.Available {
		return finite(cost)
	}
	need := load.Rate - carried
	slices.SortFunc(offers, func(a, b offer) int { return cmp.Compare(a.price, b.price) })
	for _, o := range offers {
		if need <= 0 {
			break
		}
		take := math.Min(need, o.room)
		cost += take * o.price
		need -= take
	}
	return finite(cost)
}
