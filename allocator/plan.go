package allocator

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Input limits (beyond them a variant is left out, see Plan).
const (
	// MaxVariants is the largest number of variants the exact optimizer
	// takes in one group; its time grows with the number. Larger groups are
	// planned with a heuristic (Result.Heuristic). Real groups have one to six.
	MaxVariants = 64
	// MaxCostLimit is the largest cost per replica per hour accepted.
	MaxCostLimit = 1e9
)

// Variant is one way of serving the model (one VariantAutoscaling).
type Variant struct {
	// Name identifies the variant; unique within the group. Ties between
	// equally good allocations are broken in name order.
	Name string
	// Cost is the cost of one replica per hour (≥ 0; 0 is allowed).
	Cost float64
	// Profile is the measured performance of one replica.
	Profile Profile
	// Min and Max bound the replicas; Max < 0 (Unbounded) means no maximum.
	Min, Max int
	// Current is the number of replicas running now.
	Current int
	// Accelerator is the accelerator type a replica runs on and Units how
	// many of them it takes (0 counts as 1); they matter only for
	// Input.Limits.
	Accelerator string
	Units       int
}

// Load is the group's load as last measured.
type Load struct {
	// Available is false when the load is unknown (missing or stale
	// metrics): the plan then holds the current replicas.
	Available bool
	// Rate is the arrival rate, requests per second.
	Rate float64
	// AvgIn and AvgOut are the average input and output tokens per request.
	// They must be valid (AvgIn ≥ 0, AvgOut ≥ 1) when Rate > 0; with Rate 0
	// invalid values (no request to average over) are tolerated and only
	// the capacities are then left unreported.
	AvgIn, AvgOut float64
	// RequestsInRetention is the number of requests within the retention
	// period, nil when the source does not know it.
	RequestsInRetention *float64
	// DataSince is when the data behind RequestsInRetention begins (zero:
	// no constraint): idleness is proven only a retention period after it.
	DataSince time.Time
	// Waiting is the number of requests waiting for the model: in the
	// gateway's queue and in its servers' queues. It counts even when the
	// load is not Available: requests that wait (or, with Rate, arrive) wake
	// a group at zero (see wakeFromZero). With Policy.BacklogDrain the plan
	// also sizes for draining them (withBacklog).
	Waiting float64
}

// Input is everything one plan of a model group depends on.
type Input struct {
	Variants []Variant
	SLO      SLO
	Load     Load
	Policy   Policy
	// State is the State of the previous Result (zero value: none).
	State State
	// Now is the time of the plan; the package never reads the clock.
	Now time.Time
	// Limits caps the accelerators per type the group may use (nil: no
	// limit); minimum replicas hold even above them.
	Limits Limits
	// CreatedAt is when the group's newest variant was created (zero:
	// unknown): scale to zero waits a retention period after it.
	CreatedAt time.Time
}

// Decision is the plan for one variant.
type Decision struct {
	Name string
	// Replicas is the desired replica count, within [Min, Max].
	Replicas int
	// Reason names the rule that produced Replicas.
	Reason Reason
	// Capacity is what one replica carries within the SLO, req/s (0 when the
	// variant is infeasible or the request shape is unknown).
	Capacity float64
	// LoadShare is the part of the group's load assigned to the variant,
	// req/s: the load split in proportion to capacity.
	LoadShare float64
	// TTFT and ITL are predicted at LoadShare/Replicas per replica, in ms
	// (0 without replicas or without a model).
	TTFT, ITL float64
	// Cost is Replicas times the cost per replica, per hour.
	Cost float64
	// Utilisation is LoadShare / (Replicas·Capacity); above 1 only when
	// capacity limited.
	Utilisation float64
	// Err says why the variant cannot carry load: a wrapped *ErrInfeasible
	// (errors.As) or an invalid profile (errors.Is ErrInvalidInput).
	Err error
	// Excluded is set when the variant's own input is invalid (Err says
	// why): it was left out of the plan, Replicas is its current count, and
	// the rest of the group was planned without it.
	Excluded bool
}

// Result is the plan for a model group.
type Result struct {
	// Variants holds one decision per input variant, in input order.
	Variants []Decision
	Outcome  Outcome
	// State is to be passed in the next Input of the group.
	State State
	// NextEvaluation is when the next time-based rule matures (a held
	// scale-down expires, the retention period ends); zero when none. Plan
	// again then, with the same load, to apply it.
	NextEvaluation time.Time
	// Approximate is set when the optimizer stopped at its search budget
	// before proving the optimum (only groups with many variants of nearly
	// equal cost per capacity get there). The allocation is feasible and
	// costs at most one replica more than the optimum.
	Approximate bool
	// Budget says how Input.Limits bound the plan (nil without limits).
	Budget *BudgetReport
	// Heuristic is set when the group has more variants than the exact
	// optimizer takes (MaxVariants): the plan is a heuristic one, and
	// CostBound is a lower bound of the optimal cost per hour, so the plan
	// costs at most TotalCost()-CostBound more than the optimum.
	Heuristic bool
	CostBound float64
}

// TotalCost is the cost per hour of all desired replicas.
func (r Result) TotalCost() float64 {
	total := 0.0
	for _, d := range r.Variants {
		total += d.Cost
	}
	return total
}

// TotalReplicas is the number of desired replicas over all variants.
func (r Result) TotalReplicas() int {
	total := 0
	for _, d := range r.Variants {
		total += d.Replicas
	}
	return total
}

// Validate reports the first problem that makes the input unplannable.
// Problems of one variant's profile are not among them: they are reported
// in that variant's Decision.Err and the others are planned.
func (in Input) Validate() error {
	if len(in.Variants) > MaxVariants {
		return fmt.Errorf("%w: %d variants, at most %d allowed", ErrInvalidInput, len(in.Variants), MaxVariants)
	}
	if in.Now.IsZero() {
		return fmt.Errorf("%w: Now must be set", ErrInvalidInput)
	}
	seen := make(map[string]bool, len(in.Variants))
	for _, v := range in.Variants {
		if err := v.validate(); err != nil {
			return err
		}
		if seen[v.Name] {
			return fmt.Errorf("%w: duplicate variant name %q", ErrInvalidInput, v.Name)
		}
		seen[v.Name] = true
	}
	if err := in.SLO.Validate(); err != nil {
		return err
	}
	if err := in.Policy.Validate(); err != nil {
		return err
	}
	if err := validateLimits(in); err != nil {
		return err
	}
	return in.Load.validate()
}

func (v Variant) validate() error {
	if v.Name == "" {
		return fmt.Errorf("%w: variant name must not be empty", ErrInvalidInput)
	}
	if !(v.Cost >= 0 && v.Cost <= MaxCostLimit) {
		return fmt.Errorf("%w: variant %q: cost must be in [0, %v], got %v", ErrInvalidInput, v.Name, MaxCostLimit, v.Cost)
	}
	if v.Min < 0 || v.Min > MaxReplicas {
		return fmt.Errorf("%w: variant %q: min replicas must be in [0, %d], got %d", ErrInvalidInput, v.Name, MaxReplicas, v.Min)
	}
	if v.Max >= 0 && (v.Max < v.Min || v.Max > MaxReplicas) {
		return fmt.Errorf("%w: variant %q: max replicas must be in [min=%d, %d] or unbounded, got %d", ErrInvalidInput, v.Name, v.Min, MaxReplicas, v.Max)
	}
	if v.Current < 0 || v.Current > MaxReplicas {
		return fmt.Errorf("%w: variant %q: current replicas must be in [0, %d], got %d", ErrInvalidInput, v.Name, MaxReplicas, v.Current)
	}
	return nil
}

func (l Load) validate() error {
	if !l.Available {
		return nil
	}
	if !(l.Rate >= 0 && l.Rate <= MaxRateLimit) {
		return fmt.Errorf("%w: arrival rate must be in [0, %v] req/s, got %v", ErrInvalidInput, MaxRateLimit, l.Rate)
	}
	if l.Rate > 0 && !l.tokensKnown() {
		return fmt.Errorf("%w: with load, average input tokens must be ≥ 0 and output tokens ≥ 1 (finite), got %v and %v", ErrInvalidInput, l.AvgIn, l.AvgOut)
	}
	if r := l.RequestsInRetention; r != nil && !(*r >= 0 && !math.IsInf(*r, 0)) {
		return fmt.Errorf("%w: requests in retention must be non-negative and finite, got %v", ErrInvalidInput, *r)
	}
	return nil
}

func (l Load) tokensKnown() bool {
	return l.AvgIn >= 0 && !math.IsInf(l.AvgIn, 0) && l.AvgOut >= 1 && !math.IsInf(l.AvgOut, 0)
}

// bounded clamps n into the variant's bounds.
func (v Variant) bounded(n int) int {
	n = max(n, v.Min)
	if v.Max >= 0 {
		n = min(n, v.Max)
	}
	return n
}

// variantPlan is the working data of one variant during a plan.
type variantPlan struct {
	model    Model
	hasModel bool
	capacity float64
	err      error
	n        int
	reason   Reason
}

// planValid decides the replicas of every variant of a model group whose
// variants are all valid (see Plan, which leaves out invalid ones). It
// applies, in order: metrics missing (hold), scale to zero, the cost optimum
// (or all at max when capacity limited), cost hysteresis, keep-cheapest,
// scale-down stabilization, the scale-up limit and the bounds. cache may be
// nil. The error is non-nil only for input that Validate refuses.
func planValid(in Input, cache *CapacityCache) (Result, error) {
	if err := in.Validate(); err != nil {
		return Result{}, err
	}
	if !in.Load.Available {
		res := holdOnMissingMetrics(in)
		wakeFromZero(in, &res)
		return res, nil
	}
	vs := in.Variants
	pol := in.Policy
	now := in.Now
	load := in.Load
	plans := make([]variantPlan, len(vs))
	if load.tokensKnown() {
		avgIn, avgOut := RoundTokens(load.AvgIn), RoundTokens(load.AvgOut)
		for i, v := range vs {
			p := &plans[i]
			m, err := NewModel(v.Profile, avgIn, avgOut)
			if err != nil {
				p.err = fmt.Errorf("variant %q: %w", v.Name, err)
				continue
			}
			p.model, p.hasModel = m, true
			c, err := cache.Capacity(v.Profile, in.SLO, avgIn, avgOut)
			if err != nil {
				p.err = fmt.Errorf("variant %q: %w", v.Name, err)
				continue
			}
			p.capacity = c
		}
	}

	res := Result{Variants: make([]Decision, len(vs)), Outcome: OutcomeSucceeded}
	lastActive, idle := activity(in.State.LastActive, load, pol.Retention, now)
	res.State = State{LastActive: lastActive, Recommendations: make(map[string][]Recommendation, len(vs)),
		ScaleUpBase: make(map[string][]Recommendation, len(vs))}
	res.State.LeftZero, res.State.AtZero = zeroTransition(in)
	demand := load.Rate
	provenAt := idleProvenAt(in, res.State.LeftZero)
	if idle && now.Before(provenAt) {
		idle = false // the data does not cover a whole retention period yet
	}
	// A group at zero stays there while no request waits or arrives: it
	// needs no proof, and a gap in the data must not wake it.
	stay := totalCurrent(vs) == 0 && load.Rate == 0 && load.Waiting == 0

	if pol.ScaleToZero && (idle || stay) {
		// The retention period proved idleness: no stabilization hold, and
		// the history restarts from here so that old highs hold nothing.
		for i, v := range vs {
			plans[i].n, plans[i].reason = v.Min, ReasonScaleToZero
			if pol.StabilizationWindow > 0 {
				res.State.Recommendations[v.Name] = []Recommendation{{Time: now, Replicas: v.Min}}
			}
		}
		fillDecisions(&res, vs, plans, demand)
		return res, nil
	}
	if pol.ScaleToZero && !lastActive.IsZero() {
		if t := lastActive.Add(pol.Retention); t.After(now) {
			res.NextEvaluation = t
		}
	}
	if pol.ScaleToZero && provenAt.After(now) {
		res.NextEvaluation = earliest(res.NextEvaluation, provenAt)
	}

	limited, approximate := optimize(vs, plans, demand, pol.CostSavingThreshold, in.Limits)
	res.Approximate = approximate
	opt := counts(plans)
	keepCheapest(vs, plans)
	scaleFromZero(vs, plans, load)
	for i, v := range vs {
		p := &plans[i]
		if p.reason == "" {
			p.reason = baseReason(vs, plans, i, demand)
		}
		prev, known := in.State.Recommendations[v.Name]
		final, hist, until := stabilize(prev, known, pol.StabilizationWindow, now, v.Current, p.n)
		if len(hist) > 0 {
			res.State.Recommendations[v.Name] = hist
		}
		if final > p.n {
			p.n, p.reason = final, ReasonStabilized
			res.NextEvaluation = earliest(res.NextEvaluation, until)
		}
		limit, base, until := limitScaleUp(in.State.ScaleUpBase[v.Name], pol.ScaleUp, now, v.Current)
		if len(base) > 0 {
			res.State.ScaleUpBase[v.Name] = base
		}
		if p.n > limit {
			p.n, p.reason = limit, ReasonScaleUpLimited
			res.NextEvaluation = earliest(res.NextEvaluation, until)
		}
		if b := v.bounded(p.n); b != p.n {
			p.n, p.reason = b, ReasonBounds
		}
		if p.err != nil && p.reason != ReasonKeepCheapest {
			p.reason = ReasonInfeasible
		}
	}
	enforceLimits(vs, plans, opt, in.Limits)
	if totalCurrent(vs) == 0 && totalPlanned(plans) > 0 {
		res.State.LeftZero = now
	}
	res.Budget = budgetReport(vs, plans, demand, in.Limits)
	anyCapacity := slices.ContainsFunc(plans, func(p variantPlan) bool { return p.capacity > 0 })
	switch {
	case demand > 0 && !anyCapacity:
		res.Outcome = OutcomeInfeasible
	case limited:
		res.Outcome = OutcomeCapacityLimited
	}
	fillDecisions(&res, vs, plans, demand)
	return res, nil
}

// holdOnMissingMetrics keeps the current replicas (within bounds): missing
// data is never zero load. The history is kept, pruned, so that a short gap
// in the metrics does not reset the stabilization.
func holdOnMissingMetrics(in Input) Result {
	res := Result{
		Variants: make([]Decision, len(in.Variants)),
		Outcome:  OutcomeMetricsMissing,
		State:    State{LastActive: in.State.LastActive, Recommendations: make(map[string][]Recommendation)},
	}
	res.State.LeftZero, res.State.AtZero = zeroTransition(in)
	cutoff := in.Now.Add(-in.Policy.StabilizationWindow)
	for i, v := range in.Variants {
		n := v.bounded(v.Current)
		res.Variants[i] = Decision{Name: v.Name, Replicas: n, Reason: ReasonMetricsMissing, Cost: finite(v.Cost * float64(n))}
		var live []Recommendation
		for _, r := range in.State.Recommendations[v.Name] {
			if r.Time.After(cutoff) {
				live = append(live, r)
			}
		}
		if len(live) > 0 {
			res.State.Recommendations[v.Name] = live
		}
	}
	return res
}

// optimize sets plans[i].n to the cost optimum, or to the mix without growth
// when the optimum saves less than the threshold over it. It reports whether
// the group is capacity limited and whether a search ran out of budget.
func optimize(vs []Variant, plans []variantPlan, demand, threshold float64, limits Limits) (limited, approximate bool) {
	// The solver breaks ties in its item order: name order.
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(vs[a].Name, vs[b].Name) })
	items := make([]item, len(vs))
	pl := newPools(vs, limits)
	for k, i := range order {
		items[k] = item{cost: vs[i].Cost, cap: plans[i].capacity, min: vs[i].Min, max: vs[i].Max, cur: vs[i].Current,
			pool: pl.pool[i], units: pl.units(vs, i)}
	}
	free := solveLimited(items, demand, pl.limits)
	approximate = !free.exact
	chosen := free.n
	var hysteresis []bool
	if free.limited {
		for k, i := range order {
			if items[k].cap > 0 {
				plans[i].reason = ReasonCapacityLimited
			}
		}
	} else if threshold > 0 && grows(items, free.n) {
		// The same problem where no variant may grow: if it can carry the
		// load and the free optimum is not cheaper by more than the
		// threshold, moving replicas is not worth it.
		still := slices.Clone(items)
		for k := range still {
			it := &still[k]
			it.max = max(it.min, it.cur)
			if items[k].max >= 0 {
				it.max = max(it.min, min(items[k].max, it.cur))
			}
		}
		ng := solveLimited(still, demand, pl.limits)
		approximate = approximate || !ng.exact
		if !ng.limited && ng.cost-free.cost <= threshold*ng.cost+costTol(ng.cost, free.cost) {
			chosen = ng.n
			hysteresis = make([]bool, len(items))
			for k := range items {
				hysteresis[k] = ng.n[k] != free.n[k]
			}
		}
	}
	for k, i := range order {
		plans[i].n = chosen[k]
		if len(hysteresis) > 0 && hysteresis[k] {
			plans[i].reason = ReasonCostHysteresis
		}
	}
	return free.limited, approximate
}

func grows(items []item, n []int) bool {
	for k, it := range items {
		if n[k] > it.cur {
			return true
		}
	}
	return false
}

// keepCheapest gives one replica to the cheapest variant when the plan has
// none at all and scale to zero did not apply (it is off, or the retention
// period has not passed): a model keeps serving until it is proven idle. The
// cheapest is by cost per replica, then name, among variants that may run a
// replica, preferring those that meet the SLO.
func keepCheapest(vs []Variant, plans []variantPlan) {
	for _, p := range plans {
		if p.n > 0 {
			return
		}
	}
	pick := -1
	for i, v := range vs {
		if v.Max == 0 {
			continue
		}
		if pick < 0 || cheaper(v, plans[i], vs[pick], plans[pick]) {
			pick = i
		}
	}
	if pick >= 0 {
		plans[pick].n, plans[pick].reason = 1, ReasonKeepCheapest
	}
}

func cheaper(a Variant, pa variantPlan, b Variant, pb variantPlan) bool {
	if fa, fb := pa.capacity > 0, pb.capacity > 0; fa != fb {
		return fa
	}
	if a.Cost != b.Cost {
		return a.Cost < b.Cost
	}
	return a.Name < b.Name
}

// baseReason explains a count that came straight from the optimum. It is
// the minimum bound, not the load, when the variant sits at a positive
// minimum and either the load would do with one replica less, or the
// variant carries nothing, or a variant with a lower cost per capacity had
// room to take its load. Otherwise it is whether the count changed.
func baseReason(vs []Variant, plans []variantPlan, i int, demand float64) Reason {
	v, p := vs[i], plans[i]
	if p.n == v.Min && v.Min > 0 {
		if p.capacity <= 0 {
			return ReasonBounds
		}
		total := 0.0
		for k := range plans {
			total += plans[k].capacity * float64(plans[k].n)
		}
		if covers(total-p.capacity, demand) {
			return ReasonBounds
		}
		for k, u := range vs {
			q := plans[k]
			if k != i && q.capacity > 0 && u.Cost/q.capacity < v.Cost/p.capacity && (u.Max < 0 || q.n < u.Max) {
				return ReasonBounds
			}
		}
	}
	if p.n != v.Current {
		return ReasonLoadChange
	}
	return ReasonOptimal
}

// fillDecisions splits the load in proportion to capacity and predicts the
// latencies of every variant at its share.
func fillDecisions(res *Result, vs []Variant, plans []variantPlan, demand float64) {
	totalCap, totalReplicas := 0.0, 0
	for _, p := range plans {
		totalCap += p.capacity * float64(p.n)
		totalReplicas += p.n
	}
	for i, v := range vs {
		p := plans[i]
		d := Decision{Name: v.Name, Replicas: p.n, Reason: p.reason, Capacity: p.capacity, Err: p.err}
		switch {
		case demand <= 0:
		case totalCap > 0:
			d.LoadShare = demand * p.capacity * float64(p.n) / totalCap
		case totalReplicas > 0:
			// Nothing meets the SLO: the load still lands on the replicas.
			d.LoadShare = demand * float64(p.n) / float64(totalReplicas)
		}
		if p.hasModel && p.n > 0 {
			pred := p.model.predict(math.Min(d.LoadShare/float64(p.n), MaxRateLimit))
			d.TTFT, d.ITL = finite(pred.TTFT), finite(pred.ITL)
		}
		if c := p.capacity * float64(p.n); c > 0 {
			d.Utilisation = finite(d.LoadShare / c)
		}
		d.LoadShare = finite(d.LoadShare)
		d.Cost = finite(v.Cost * float64(p.n))
		res.Variants[i] = d
	}
}
