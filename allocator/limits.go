package allocator

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
)

// Limits caps the accelerators a group may use, per accelerator type
// (Variant.Accelerator): a replica of a variant takes Variant.Units of its
// type. A type without an entry is unlimited. The global arbitration hands
// them out as budgets (see Arbitrate).
type Limits map[string]int

// MaxLimit is the largest limit accepted for one accelerator type. The
// capacity reachable within a limit is a knapsack solved over the units, so
// the limit bounds its work.
const MaxLimit = 1 << 20

// MaxUnits is the largest number of accelerators per replica accepted.
const MaxUnits = 4096

// units is what one replica of v takes from its type's limit (0 counts as 1).
func (v Variant) units() int { return max(1, v.Units) }

// validateLimits checks the limits and the variants' units.
func validateLimits(in Input) error {
	for _, t := range sortedTypes(in.Limits) {
		if n := in.Limits[t]; n < 0 || n > MaxLimit {
			return fmt.Errorf("%w: limit of accelerator type %q must be in [0, %d], got %d", ErrInvalidInput, t, MaxLimit, n)
		}
	}
	for _, v := range in.Variants {
		if v.Units < 0 || v.Units > MaxUnits {
			return fmt.Errorf("%w: variant %q: accelerators per replica must be in [0, %d], got %d", ErrInvalidInput, v.Name, MaxUnits, v.Units)
		}
	}
	return nil
}

func sortedTypes[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for t := range m {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// pools maps the variants of a group onto the solver's pools: one per
// limited accelerator type that some variant uses.
type pools struct {
	// pool[i] is 1 + the index into limits of variant i's type (0: unlimited).
	pool []int
	// limits[p] is the limit of pool p+1; nil when no variant is limited.
	limits []int
	// types[p] names the type of pool p+1.
	types []string
}

func newPools(vs []Variant, limits Limits) pools {
	out := pools{pool: make([]int, len(vs))}
	at := map[string]int{}
	for i, v := range vs {
		l, ok := limits[v.Accelerator]
		if !ok {
			continue
		}
		p, seen := at[v.Accelerator]
		if !seen {
			out.limits = append(out.limits, l)
			out.types = append(out.types, v.Accelerator)
			p = len(out.limits)
			at[v.Accelerator] = p
		}
		out.pool[i] = p
	}
	return out
}

// units is what a replica of variant i takes from its pool (0 when none, so
// that unlimited variants merge in the solver as before).
func (p pools) units(vs []Variant, i int) int {
	if p.pool[i] == 0 {
		return 0
	}
	return vs[i].units()
}

// poolRoom returns a fresh copy of the limits, and for each item what the
// items after it in the same pool take at their minimum, and what each pool
// takes at the minimum. All nil without limits.
func poolRoom(items []item, limits []int) (room, minAfter, poolMin []int) {
	if limits == nil {
		return nil, nil, nil
	}
	room = slices.Clone(limits)
	minAfter = make([]int, len(items))
	poolMin = make([]int, len(limits))
	for i := len(items) - 1; i >= 0; i-- {
		if it := items[i]; it.pool > 0 {
			minAfter[i] = poolMin[it.pool-1]
			poolMin[it.pool-1] += it.min * it.units
		}
	}
	return room, minAfter, poolMin
}

// poolSpare is how many more replicas of item u fit in its pool given s.n
// (MaxInt when it is not limited; negative when the pool is already over).
func (s *solver) poolSpare(u int) int {
	it := s.items[u]
	if it.pool == 0 || s.room == nil {
		return math.MaxInt
	}
	used := 0
	for j, o := range s.items {
		if o.pool == it.pool {
			used += s.n[j] * o.units
		}
	}
	return floorDiv(s.room[it.pool-1]-used, it.units)
}

// withinLimits reports whether n keeps every pool within its limit.
func (s *solver) withinLimits(n []int) bool {
	if s.room == nil {
		return true
	}
	used := make([]int, len(s.room))
	for j, it := range s.items {
		if it.pool > 0 {
			used[it.pool-1] += n[j] * it.units
		}
	}
	for p, u := range used {
		if u > s.room[p] {
			return false
		}
	}
	return true
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// solveLimited is solve under per-pool limits (nil: none). The minimum
// replicas always hold, so a limit below what the minima of its pool take is
// raised to that. When no allocation within the limits carries the demand,
// the answer carries the most that any does (an exact knapsack per pool),
// at the least cost, and is marked limited.
func solveLimited(items []item, demand float64, limits []int) allocation {
	if limits == nil {
		return solve(items, demand)
	}
	limits = slices.Clone(limits)
	for _, it := range items {
		if it.pool > 0 {
			limits[it.pool-1] -= it.min * it.units
		}
	}
	for p := range limits {
		limits[p] = max(0, limits[p])
	}
	for _, it := range items {
		if it.pool > 0 {
			limits[it.pool-1] += it.min * it.units
		}
	}
	reach := maxCapacity(items, limits)
	if covers(reach, demand) {
		return solveWithin(items, demand, limits)
	}
	out := solveWithin(items, reach, limits)
	out.limited = true
	return out
}

// maxCapacity is the largest capacity of an allocation within the bounds and
// the limits (+Inf when an unlimited, unbounded item carries load). Pools
// are independent: each is a bounded knapsack over its units, solved exactly
// by dynamic programming over the room left above the minima.
func maxCapacity(items []item, limits []int) float64 {
	total := 0.0
	byPool := make([][]item, len(limits))
	for _, it := range items {
		total += it.cap * float64(it.min)
		if it.pool == 0 {
			if it.cap > 0 {
				if it.max < 0 {
					return math.Inf(1)
				}
				total += it.cap * float64(it.max-it.min)
			}
			continue
		}
		byPool[it.pool-1] = append(byPool[it.pool-1], it)
	}
	for p, its := range byPool {
		room := limits[p]
		for _, it := range its {
			room -= it.min * it.units
		}
		total += poolKnapsack(its, max(0, room))
	}
	return total
}

// poolKnapsack is the most capacity the items' replicas above their minimum
// carry within room units: a bounded knapsack, with the counts split in
// powers of two (each piece a 0/1 item).
func poolKnapsack(its []item, room int) float64 {
	type piece struct {
		w int
		v float64
	}
	var pieces []piece
	fitsAll, sum := true, 0
	for _, it := range its {
		if it.cap <= 0 {
			continue
		}
		k := room / it.units
		if it.max >= 0 {
			k = min(k, it.max-it.min)
		}
		if k <= 0 {
			continue
		}
		sum += k * it.units
		if sum > room {
			fitsAll = false
		}
		for c := 1; k > 0; c *= 2 {
			take := min(c, k)
			pieces = append(pieces, piece{take * it.units, float64(take) * it.cap})
			k -= take
		}
	}
	if fitsAll {
		v := 0.0
		for _, p := range pieces {
			v += p.v
		}
		return v
	}
	best := make([]float64, room+1)
	for _, p := range pieces {
		for w := room; w >= p.w; w-- {
			if c := best[w-p.w] + p.v; c > best[w] {
				best[w] = c
			}
		}
	}
	return best[room]
}

// BudgetReport says how a group's accelerator limits bound its plan.
type BudgetReport struct {
	// Limited is set when the cost optimum without the limits would use
	// more of some type than its limit: the plan is not what the group
	// would choose with accelerators to spare.
	Limited bool
	// Limits are the limits the plan honoured (a copy of Input.Limits).
	Limits Limits
	// Uses and Needs are the accelerators per type of the plan, and of the
	// cost optimum without the limits (what the group would need).
	Uses, Needs map[string]int
	// Unserved is the load, req/s, the plan cannot carry within the SLO
	// (0 when it carries it all).
	Unserved float64
}

// enforceLimits lowers counts that a rule applied after the optimum
// (stabilization, keep-cheapest, or any later hold) raised above it, where
// the result would exceed a limit: the accelerators are not there. Such
// variants go back towards their optimum count opt, the latest names first,
// and report CapacityLimited. Minimum replicas always hold.
func enforceLimits(vs []Variant, plans []variantPlan, opt []int, limits Limits) {
	if len(limits) == 0 {
		return
	}
	used := usage(vs, plans)
	for i := len(vs) - 1; i >= 0; i-- {
		v := vs[i]
		l, ok := limits[v.Accelerator]
		p := &plans[i]
		if !ok || used[v.Accelerator] <= l {
			continue
		}
		floor := max(v.Min, min(opt[i], p.n))
		over := used[v.Accelerator] - l
		drop := min(p.n-floor, (over+v.units()-1)/v.units())
		if drop > 0 {
			p.n -= drop
			used[v.Accelerator] -= drop * v.units()
			p.reason = ReasonCapacityLimited
		}
	}
}

// counts returns the replica counts of plans.
func counts(plans []variantPlan) []int {
	out := make([]int, len(plans))
	for i, p := range plans {
		out[i] = p.n
	}
	return out
}

// usage is the accelerators per type the plans take.
func usage(vs []Variant, plans []variantPlan) map[string]int {
	out := map[string]int{}
	for i, v := range vs {
		if plans[i].n > 0 {
			out[v.Accelerator] += plans[i].n * v.units()
		}
	}
	return out
}

// budgetReport compares the plan with the cost optimum without limits; nil
// when the input has no limits.
func budgetReport(vs []Variant, plans []variantPlan, demand float64, limits Limits) *BudgetReport {
	if limits == nil {
		return nil
	}
	// In name order, as optimize solves: the same tie-breaks.
	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(vs[a].Name, vs[b].Name) })
	items := make([]item, len(vs))
	for k, i := range order {
		v := vs[i]
		items[k] = item{cost: v.Cost, cap: plans[i].capacity, min: v.Min, max: v.Max, cur: v.Current}
	}
	free := solve(items, demand)
	needs := map[string]int{}
	for k, i := range order {
		if n := free.n[k]; n > 0 {
			needs[vs[i].Accelerator] += n * vs[i].units()
		}
	}
	r := &BudgetReport{Limits: copyLimits(limits), Uses: usage(vs, plans), Needs: needs}
	for t, n := range needs {
		if l, ok := limits[t]; ok && n > l {
			r.Limited = true
		}
	}
	capacity := 0.0
	for _, p := range plans {
		capacity += p.capacity * float64(p.n)
	}
	if !covers(capacity, demand) {
		r.Unserved = finite(demand - capacity)
	}
	return r
}

func copyLimits(l Limits) Limits {
	out := make(Limits, len(l))
	for t, n := range l {
		out[t] = n
	}
	return out
}
