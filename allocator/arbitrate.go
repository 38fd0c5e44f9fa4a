package allocator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Claim is one model group's ask in the arbitration of scarce accelerators:
// its demand curves, read off its plan without limits (see ClaimOf).
type Claim struct {
	// Group identifies the group; unique among the claims.
	Group string
	// Priority of the group's service class: lower is more important.
	Priority int
	// Min is the accelerators per type the group's minimum replicas take.
	Min map[string]int
	// Steps are, per type, the replicas the plan runs above the minimum;
	// granting one serves its Load. Together they are the demand curve of
	// the type: the load served as a function of the accelerators granted.
	Steps map[string][]Step
	// Alternatives holds, per accelerator type the group has a variant on,
	// one replica of its variant with the most capacity per accelerator
	// (Load is that replica's capacity): what leftover accelerators of that
	// type would do for the group when it is short elsewhere.
	Alternatives map[string]Step
}

// Step is Count replicas of one variant, each taking Units accelerators and
// serving Load req/s.
type Step struct {
	Units int
	Load  float64
	Count int
}

// Budgets maps a group to its limits. A group or type without an entry is
// unlimited.
type Budgets map[string]Limits

// Arbitration is the outcome of Arbitrate.
type Arbitration struct {
	// Budgets per group and type. Only groups on a contended type (or short
	// elsewhere and offered another type's leftover) have budgets.
	Budgets Budgets
	// Changed lists, sorted, the claiming groups whose budget differs from
	// the previous one: the only groups to re-plan.
	Changed []string
	// Contended lists, sorted, the types whose demand exceeds the inventory.
	Contended []string
	// Served and Demand are, per group, the load its budgets serve by its
	// demand curves and the load of all its steps, req/s, over the contended
	// types (the minimum replicas' load is not counted in either).
	Served, Demand map[string]float64
	// Exact is false when some contended type and priority was too large for
	// the exact dynamic programme and was filled greedily (see Arbitrate).
	Exact bool
}

// ExactWorkLimit bounds the exact arbitration of one contended type and
// priority: units left × units claimed. Above it the greedy fill is used.
const ExactWorkLimit = 4_000_000

// Arbitrate hands out the inventory (accelerators per type; types not in it
// are not arbitrated) among the claims. A type is contended when the claims'
// minima and steps on it take more than the inventory; only contended types
// get budgets. On each contended type:
//
//  1. The minima are granted first, in priority order (then group name),
//     while the inventory lasts: a group never drops below its minimum
//     replicas while the inventory allows them.
//  2. Priorities are then served in order, the most important first. Within
//     a priority the accelerators left are given to the steps so as to
//     maximise the load served at the SLO (req/s), and among the ways to
//     serve the most, the one taking the fewest accelerators (they go to the
//     next priority). This is exact (a dynamic programme over the units)
//     when units left × units claimed ≤ ExactWorkLimit; above, steps are
//     taken by load per accelerator, the densest first, skipping those that
//     no longer fit, which serves at least the optimum minus the load of one
//     replica (the LP relaxation bound).
//
// A group short on a contended type is then offered the leftover of the
// uncontended types it has a variant on (Alternatives), in priority order, as
// many replicas as its unserved load needs; it gets a budget on each such
// type (its demand plus the leftover offered) so that groups substituting
// onto the same type cannot overrun it.
//
// prev is the previous arbitration's budgets, to report the changed groups.
func Arbitrate(claims []Claim, inventory map[string]int, prev Budgets) (Arbitration, error) {
	return arbitrate(claims, inventory, prev, ExactWorkLimit)
}

// arbitrate is Arbitrate with the exact programme's work limit as a
// parameter (the tests force the greedy fill with 0).
func arbitrate(claims []Claim, inventory map[string]int, prev Budgets, exactLimit int) (Arbitration, error) {
	order := make([]int, len(claims))
	seen := make(map[string]bool, len(claims))
	for i, c := range claims {
		if err := c.validate(); err != nil {
			return Arbitration{}, err
		}
		if seen[c.Group] {
			return Arbitration{}, fmt.Errorf("%w: group %q claims twice", ErrInvalidInput, c.Group)
		}
		seen[c.Group] = true
		order[i] = i
	}
	for _, t := range sortedTypes(inventory) {
		if n := inventory[t]; n < 0 || n > MaxLimit {
			return Arbitration{}, fmt.Errorf("%w: inventory of %q must be in [0, %d], got %d", ErrInvalidInput, t, MaxLimit, n)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(claims[a].Priority, claims[b].Priority), cmp.Compare(claims[a].Group, claims[b].Group))
	})
	out := Arbitration{Budgets: Budgets{}, Served: map[string]float64{}, Demand: map[string]float64{}, Exact: true}
	spare := map[string]int{}
	for _, t := range sortedTypes(inventory) {
		need := 0
		for _, i := range order {
			need += claims[i].Min[t] + stepUnits(claims[i].Steps[t])
		}
		if need <= inventory[t] {
			spare[t] = inventory[t] - need
			continue
		}
		out.Contended = append(out.Contended, t)
		if !arbitrateType(claims, order, t, inventory[t], exactLimit, &out) {
			out.Exact = false
		}
	}
	offerLeftovers(claims, order, spare, &out)
	for _, c := range claims {
		if !equalLimits(out.Budgets[c.Group], prev[c.Group]) {
			out.Changed = append(out.Changed, c.Group)
		}
	}
	slices.Sort(out.Changed)
	return out, nil
}

func (c Claim) validate() error {
	if c.Group == "" {
		return fmt.Errorf("%w: a claim without a group", ErrInvalidInput)
	}
	for _, t := range sortedTypes(c.Min) {
		if n := c.Min[t]; n < 0 || n > MaxLimit {
			return fmt.Errorf("%w: group %q: minimum of %q must be in [0, %d], got %d", ErrInvalidInput, c.Group, t, MaxLimit, n)
		}
	}
	check := func(t string, s Step) error {
		if s.Units < 1 || s.Units > MaxUnits || s.Count < 0 || s.Count > MaxReplicas || !(s.Load >= 0) || math.IsInf(s.Load, 0) {
			return fmt.Errorf("%w: group %q, type %q: bad step %+v", ErrInvalidInput, c.Group, t, s)
		}
		return nil
	}
	for _, t := range sortedTypes(c.Steps) {
		total := 0
		for _, s := range c.Steps[t] {
			if err := check(t, s); err != nil {
				return err
			}
			total += s.Units * s.Count
			if total > MaxLimit {
				return fmt.Errorf("%w: group %q claims more than %d accelerators of %q", ErrInvalidInput, c.Group, MaxLimit, t)
			}
		}
	}
	for _, t := range sortedTypes(c.Alternatives) {
		if err := check(t, c.Alternatives[t]); err != nil {
			return err
		}
	}
	return nil
}

func stepUnits(steps []Step) int {
	n := 0
	for _, s := range steps {
		n += s.Units * s.Count
	}
	return n
}

func stepLoad(steps []Step) float64 {
	x := 0.0
	for _, s := range steps {
		x += s.Load * float64(s.Count)
	}
	return x
}

// arbitrateType sets the budgets of type t; false when a priority level was
// filled greedily.
func arbitrateType(claims []Claim, order []int, t string, inventory, exactLimit int, out *Arbitration) bool {
	left := inventory
	grant := make(map[int]int, len(order))
	for _, i := range order {
		g := min(claims[i].Min[t], left)
		grant[i] = g
		left -= g
	}
	exact := true
	for lo := 0; lo < len(order); {
		hi := lo
		for hi < len(order) && claims[order[hi]].Priority == claims[order[lo]].Priority {
			hi++
		}
		level := order[lo:hi]
		extra, used, ok := fillLevel(claims, level, t, left, exactLimit)
		exact = exact && ok
		left -= used
		for k, i := range level {
			c := claims[i]
			if c.Min[t] == 0 && len(c.Steps[t]) == 0 {
				continue
			}
			setBudget(out, c.Group, t, grant[i]+extra[k])
			out.Demand[c.Group] += stepLoad(c.Steps[t])
			out.Served[c.Group] += servedWithin(c.Steps[t], extra[k])
		}
		lo = hi
	}
	return exact
}

func setBudget(out *Arbitration, group, t string, n int) {
	if out.Budgets[group] == nil {
		out.Budgets[group] = Limits{}
	}
	out.Budgets[group][t] = n
}

// fillLevel gives the units left to the steps of one priority level: the
// most load served, then the fewest units. It returns the units per group
// (in level order), their sum, and whether the answer is exact.
func fillLevel(claims []Claim, level []int, t string, left, exactLimit int) (extra []int, used int, exact bool) {
	extra = make([]int, len(level))
	claimed := 0
	for _, i := range level {
		claimed += stepUnits(claims[i].Steps[t])
	}
	if claimed <= left {
		for k, i := range level {
			extra[k] = stepUnits(claims[i].Steps[t])
			used += extra[k]
		}
		return extra, used, true
	}
	if left*claimed <= exactLimit {
		return fillExact(claims, level, t, left)
	}
	return fillGreedy(claims, level, t, left)
}

// curve returns, for 0 ≤ b ≤ room, the most load the steps serve within b
// units and the fewest units that serve it (a bounded knapsack).
func curve(steps []Step, room int) (value []float64, units []int) {
	value = make([]float64, room+1)
	for _, s := range steps {
		k := min(s.Count, room/s.Units)
		for c := 1; k > 0; c *= 2 {
			take := min(c, k)
			w, v := take*s.Units, float64(take)*s.Load
			for b := room; b >= w; b-- {
				if x := value[b-w] + v; x > value[b] {
					value[b] = x
				}
			}
			k -= take
		}
	}
	units = make([]int, room+1)
	for b := range units {
		units[b] = b
		if b > 0 && !greater(value[b], value[b-1]) {
			units[b] = units[b-1]
			value[b] = value[b-1]
		}
	}
	return value, units
}

// greater compares loads with a relative tolerance, so that float noise in
// sums never decides.
func greater(a, b float64) bool { return a > b+1e-9*math.Max(1, math.Abs(b)) }

// fillExact is the dynamic programme over groups and units.
func fillExact(claims []Claim, level []int, t string, left int) (extra []int, used int, exact bool) {
	values := make([][]float64, len(level))
	units := make([][]int, len(level))
	for k, i := range level {
		values[k], units[k] = curve(claims[i].Steps[t], min(left, stepUnits(claims[i].Steps[t])))
	}
	// best[r]: the most load the groups so far serve within r units;
	// choice[k][r]: the units group k takes there.
	best := make([]float64, left+1)
	choice := make([][]int, len(level))
	for k := range level {
		next := make([]float64, left+1)
		choice[k] = make([]int, left+1)
		for r := 0; r <= left; r++ {
			next[r], choice[k][r] = best[r], 0
			for b := 1; b <= min(r, len(values[k])-1); b++ {
				if units[k][b] != b {
					continue // serves no more than a smaller grant
				}
				if x := values[k][b] + best[r-b]; greater(x, next[r]) {
					next[r], choice[k][r] = x, b
				}
			}
		}
		best = next
	}
	r := 0
	for greater(best[left], best[r]) {
		r++
	}
	extra = make([]int, len(level))
	for k := len(level) - 1; k >= 0; k-- {
		extra[k] = choice[k][r]
		r -= extra[k]
		used += extra[k]
	}
	return extra, used, true
}

// fillGreedy takes whole replicas by load per unit, the densest first
// (priority, group and step order break ties), skipping what no longer fits.
func fillGreedy(claims []Claim, level []int, t string, left int) (extra []int, used int, exact bool) {
	type ref struct{ k, s int }
	var refs []ref
	for k, i := range level {
		for s := range claims[i].Steps[t] {
			refs = append(refs, ref{k, s})
		}
	}
	density := func(r ref) float64 {
		s := claims[level[r.k]].Steps[t][r.s]
		return s.Load / float64(s.Units)
	}
	slices.SortStableFunc(refs, func(a, b ref) int { return cmp.Compare(density(b), density(a)) })
	extra = make([]int, len(level))
	for _, r := range refs {
		s := claims[level[r.k]].Steps[t][r.s]
		n := min(s.Count, left/s.Units)
		extra[r.k] += n * s.Units
		left -= n * s.Units
		used += n * s.Units
	}
	return extra, used, false
}

// servedWithin is the most load the steps serve within b units.
func servedWithin(steps []Step, b int) float64 {
	if b <= 0 {
		return 0
	}
	v, _ := curve(steps, min(b, stepUnits(steps)))
	return v[len(v)-1]
}

// offerLeftovers gives groups that are short on a contended type the spare
// accelerators of the uncontended types they have a variant on.
func offerLeftovers(claims []Claim, order []int, spare map[string]int, out *Arbitration) {
	for _, i := range order {
		c := claims[i]
		short := out.Demand[c.Group] - out.Served[c.Group]
		if !greater(short, 0) {
			continue
		}
		for _, t := range sortedTypes(c.Alternatives) {
			left, ok := spare[t]
			if !ok {
				continue // contended, or not in the inventory
			}
			alt := c.Alternatives[t]
			n := 0
			if alt.Load > 0 && greater(short, 0) {
				n = min(left/alt.Units, int(math.Min(math.Ceil(short/alt.Load), MaxLimit)))
			}
			spare[t] -= n * alt.Units
			short -= float64(n) * alt.Load
			setBudget(out, c.Group, t, c.Min[t]+stepUnits(c.Steps[t])+n*alt.Units)
		}
	}
}

func equalLimits(a, b Limits) bool {
	if len(a) != len(b) {
		return false
	}
	for t, n := range a {
		if m, ok := b[t]; !ok || m != n {
			return false
		}
	}
	return true
}

// ClaimOf reads a group's claim off its plan without limits: the replicas
// above each variant's minimum are its steps, each serving its share of the
// variant's load. The variants' Accelerator and Units say what they take.
func ClaimOf(group string, priority int, in Input, res Result) Claim {
	c := Claim{Group: group, Priority: priority, Min: map[string]int{}, Steps: map[string][]Step{}, Alternatives: map[string]Step{}}
	for i, v := range in.Variants {
		if i >= len(res.Variants) {
			break
		}
		d := res.Variants[i]
		t, u := v.Accelerator, v.units()
		if v.Min > 0 {
			c.Min[t] += v.Min * u
		}
		if extra := d.Replicas - v.Min; extra > 0 {
			c.Steps[t] = append(c.Steps[t], Step{Units: u, Load: finite(d.LoadShare / float64(d.Replicas)), Count: extra})
		}
		if d.Capacity > 0 && (v.Max < 0 || v.Max > v.Min) {
			alt, ok := c.Alternatives[t]
			if !ok || d.Capacity/float64(u) > alt.Load/float64(alt.Units) {
				c.Alternatives[t] = Step{Units: u, Load: d.Capacity, Count: 1}
			}
		}
	}
	return c
}
