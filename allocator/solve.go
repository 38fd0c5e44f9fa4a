package allocator

import (
	"cmp"
	"math"
	"slices"
)

// MaxReplicas is the largest replica count the allocator assigns (replica
// counts are int32 in the Kubernetes API).
const MaxReplicas = math.MaxInt32

// Unbounded as Variant.Max means that the variant has no replica maximum.
// Any negative Max means the same.
const Unbounded = -1

const (
	// coverTol is the relative shortfall of capacity below the load that still
	// counts as carrying it: capacities come out of a bisection with relative
	// precision 1e-5, so the last digits of a sum of them mean nothing.
	coverTol = 1e-9
	// costTolRel is the relative difference under which two costs are equal,
	// so that float noise in a sum never beats the tie-breaking rules.
	costTolRel = 1e-9
)

// item is one variant as the solver sees it.
type item struct {
	cost float64 // per replica
	cap  float64 // capacity per replica, req/s; 0 = carries nothing
	min  int
	max  int // < 0: unbounded
	cur  int
	// pool is 1 + the index of the accelerator limit the item draws on (0:
	// none) and units the accelerators one replica takes from it.
	pool, units int
}

// allocation is the solver's answer, indexed like its items.
type allocation struct {
	n        []int
	cost     float64
	capacity float64
	moves    int
	// limited is set when even every variant at its maximum cannot carry the
	// load; n then holds every variant that carries load at its maximum.
	limited bool
	// nodes counts the branch-and-bound nodes visited (for benchmarks).
	nodes int
	// exact is false when the search stopped at maxNodes; the answer is then
	// the best found, feasible but maybe not optimal.
	exact bool
}

// maxNodes bounds the search so that a plan always ends in tens of
// milliseconds at worst. Covering with integers is NP-hard: many variants
// with nearly equal cost per capacity and large counts (a strongly
// correlated knapsack) can have more near-optimal allocations than any
// search can tell apart. Groups with distinct costs per capacity need tens
// to a few thousand nodes. When the budget runs out the best allocation found
// is kept; it is never worse than the greedy one, which costs at most one
// replica of the critical variant more than the LP bound.
const maxNodes = 1 << 18

func covers(capacity, demand float64) bool { return capacity >= demand*(1-coverTol) }

func costTol(a, b float64) float64 {
	return costTolRel * math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// better reports whether allocation (cost, moves, n) beats (bestCost,
// bestMoves, best): lower cost first; on equal cost, fewer replica moves from
// the current allocation (so the current allocation itself wins every tie);
// then more replicas on the earlier variant in name order. lex lists the
// indexes of n in name order (nil: n is in name order).
func better(cost float64, moves int, n []int, bestCost float64, bestMoves int, best []int, lex []int) bool {
	t := costTol(cost, bestCost)
	switch {
	case cost < bestCost-t:
		return true
	case cost > bestCost+t:
		return false
	case moves != bestMoves:
		return moves < bestMoves
	}
	for k := range n {
		i := k
		if lex != nil {
			i = lex[k]
		}
		if n[i] != best[i] {
			return n[i] > best[i]
		}
	}
	return false
}

// evaluate returns the cost, capacity and moves of n, summed in item order
// (the order matters for the last bits; the search sums the same way).
func evaluate(items []item, n []int) (cost, capacity float64, moves int) {
	for i, it := range items {
		cost += it.cost * float64(n[i])
		capacity += it.cap * float64(n[i])
		moves += absInt(n[i] - it.cur)
	}
	return cost, capacity, moves
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func clampInt(x, lo, hi int) int { return max(lo, min(x, hi)) }

// maxCount caps the counts inside the solver. Groups of identical variants
// are solved as one item whose count can exceed MaxReplicas.
const maxCount = 1 << 40

// countFor returns the number of replicas of capacity c needed for demand d,
// rounded up, plus one for float slack. It is an upper bound only.
func countFor(d, c float64) int {
	if d <= 0 {
		return 0
	}
	x := math.Ceil(d / c)
	if !(x < maxCount) {
		return maxCount
	}
	return int(x) + 1
}

// solve finds integers n_i ∈ [min_i, max_i] minimising Σ cost_i·n_i subject
// to Σ cap_i·n_i ≥ demand, ties broken by better. items must be in name order;
// an unbounded maximum is taken as MaxReplicas.
//
// Variants with the same cost and capacity are interchangeable except for
// the tie-breaks, and would multiply the equally good allocations the search
// must tell apart; they are solved as one item, which takes the place of its
// first member in name order, and whose count is then spread over them with
// the fewest moves, earlier names first. The rest is a depth-first branch and
// bound, see solver.dfs.
func solve(items []item, demand float64) allocation {
	return solveWithin(items, demand, nil)
}

// solveWithin is solve with accelerator limits: limits[p] caps the units the
// items of pool p+1 take together. The caller makes sure that some allocation
// within the limits carries the demand (see solveLimited).
func solveWithin(items []item, demand float64, limits []int) allocation {
	items = slices.Clone(items)
	for i := range items {
		if items[i].max < 0 {
			items[i].max = MaxReplicas
		}
	}
	classes, members := aggregate(items)
	// Branch on the items by cost per capacity, the best first (as in the
	// Horowitz–Sahni search for knapsacks): the bound of the items left is
	// then tight, and the first leaves found are near the optimum.
	perm := make([]int, len(classes))
	for i := range perm {
		perm[i] = i
	}
	slices.SortStableFunc(perm, func(a, b int) int { return byRatio(classes[a], classes[b]) })
	sorted := make([]item, len(classes))
	lex := make([]int, len(classes)) // lex[class] = its place in sorted: name order
	for k, c := range perm {
		sorted[k] = classes[c]
		lex[c] = k
	}
	s := newSolver(sorted, demand, limits)
	s.lex = lex
	out := allocation{exact: true}
	var counts []int
	if s.limited() {
		out.limited = true
		counts = make([]int, len(s.items))
		for i, it := range s.items {
			counts[i] = it.min
			if it.cap > 0 {
				counts[i] = it.max
			}
		}
	} else {
		s.greedy(false)
		s.greedy(true)
		s.dfs(0, 0, 0, 0)
		counts = s.best
		out.nodes, out.exact = s.nodes, s.nodes <= maxNodes
	}
	out.n = make([]int, len(items))
	for c, idx := range members {
		spread(items, idx, counts[lex[c]], out.n)
	}
	out.cost, out.capacity, out.moves = evaluate(items, out.n)
	return out
}

// aggregate merges items of equal cost and capacity. members[c] lists the
// indexes of the items of class c, in order.
func aggregate(items []item) (classes []item, members [][]int) {
	type key struct {
		cost, cap   float64
		pool, units int
	}
	at := make(map[key]int, len(items))
	for i, it := range items {
		k := key{it.cost, it.cap, it.pool, it.units}
		c, ok := at[k]
		if !ok {
			at[k] = len(classes)
			classes = append(classes, item{cost: it.cost, cap: it.cap, pool: it.pool, units: it.units})
			members = append(members, nil)
			c = len(classes) - 1
		}
		members[c] = append(members[c], i)
		cl := &classes[c]
		cl.min += it.min
		cl.max += it.max
		// Moving the class total away from the sum of the clamped current
		// counts costs one move per replica; bringing each member into its
		// bounds costs the same for every allocation and is left out.
		cl.cur += clampInt(it.cur, it.min, it.max)
	}
	return classes, members
}

// spread sets n[i] for the members idx of a class whose total is total:
// from the clamped current counts, replicas are added to the earliest names
// first and removed from the latest first (the fewest moves, then the most
// replicas on earlier names).
func spread(items []item, idx []int, total int, n []int) {
	diff := total
	for _, i := range idx {
		n[i] = clampInt(items[i].cur, items[i].min, items[i].max)
		diff -= n[i]
	}
	for _, i := range idx {
		if diff <= 0 {
			break
		}
		add := min(diff, items[i].max-n[i])
		n[i] += add
		diff -= add
	}
	for k := len(idx) - 1; k >= 0 && diff < 0; k-- {
		i := idx[k]
		sub := min(-diff, n[i]-items[i].min)
		n[i] -= sub
		diff += sub
	}
}

type solver struct {
	items  []item
	demand float64
	slack  float64 // absolute shortfall tolerated by the (lenient) pruning tests
	// order lists the items that carry load by cost per capacity; shed
	// lists the items that cost money in the same order.
	order, shed []int
	// byCap and byCost list all items by decreasing capacity and cost.
	byCap, byCost []int
	// lex lists the items in name order, for the last tie-break.
	lex []int
	// Suffix sums over items[i:]: cost and capacity at min, capacity at max.
	sufMinCost, sufMinCap, sufMaxCap []float64

	// room holds the units left in each pool on the current search path
	// (nil: no limits); minAfter[i] is what the items after i in the same
	// pool take at their minimum.
	room, minAfter []int

	n, best   []int
	bestCost  float64
	bestMoves int
	have      bool
	nodes     int
}

func newSolver(in []item, demand float64, limits []int) *solver {
	demand = math.Max(demand, 0)
	room, minAfter, poolMin := poolRoom(in, limits)
	items := make([]item, len(in))
	for i, it := range in {
		// A count above what the whole load needs is never optimal: it costs
		// more, or for a free variant it moves more replicas than keeping the
		// current count. Capping there makes every maximum finite.
		b := it.min
		if it.cap > 0 {
			b = max(b, countFor(demand, it.cap))
		}
		if it.cost == 0 {
			b = max(b, it.cur)
		}
		it.max = min(it.max, b)
		if it.pool > 0 && room != nil {
			// No more than the pool can hold with the others at their minimum.
			it.max = max(it.min, min(it.max, it.min+(room[it.pool-1]-poolMin[it.pool-1])/it.units))
		}
		items[i] = it
	}
	s := &solver{
		items:      items,
		room:       room,
		minAfter:   minAfter,
		demand:     demand,
		slack:      2 * coverTol * demand,
		sufMinCost: make([]float64, len(items)+1),
		sufMinCap:  make([]float64, len(items)+1),
		sufMaxCap:  make([]float64, len(items)+1),
		n:          make([]int, len(items)),
		best:       make([]int, len(items)),
		bestCost:   math.Inf(1), // no incumbent: every bound test passes
	}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		s.sufMinCost[i] = s.sufMinCost[i+1] + it.cost*float64(it.min)
		s.sufMinCap[i] = s.sufMinCap[i+1] + it.cap*float64(it.min)
		s.sufMaxCap[i] = s.sufMaxCap[i+1] + it.cap*float64(it.max)
	}
	for i, it := range items {
		if it.cap > 0 {
			s.order = append(s.order, i)
		}
		if it.cost > 0 {
			s.shed = append(s.shed, i)
		}
	}
	slices.SortStableFunc(s.order, func(a, b int) int { return byRatio(items[a], items[b]) })
	slices.SortStableFunc(s.shed, func(a, b int) int { return byRatio(items[a], items[b]) })
	s.byCap = make([]int, len(items))
	for i := range s.byCap {
		s.byCap[i] = i
	}
	s.byCost = slices.Clone(s.byCap)
	slices.SortStableFunc(s.byCap, func(a, b int) int { return cmp.Compare(items[b].cap, items[a].cap) })
	slices.SortStableFunc(s.byCost, func(a, b int) int { return cmp.Compare(items[b].cost, items[a].cost) })
	return s
}

// byRatio orders by cost per capacity; on equal ratios the larger capacity
// first (fewer replicas to move).
func byRatio(a, b item) int {
	if ra, rb := ratio(a), ratio(b); ra != rb {
		return cmp.Compare(ra, rb)
	}
	return cmp.Compare(b.cap, a.cap)
}

// ratio is the cost per capacity (+Inf for an item that carries nothing).
func ratio(it item) float64 {
	if it.cap <= 0 {
		return math.Inf(1)
	}
	return it.cost / it.cap
}

func (s *solver) limited() bool {
	n := make([]int, len(s.items))
	for i, it := range s.items {
		n[i] = it.max
	}
	_, capacity, _ := evaluate(s.items, n)
	return !covers(capacity, s.demand)
}

// greedy offers a first incumbent, for the bounds to prune against. From the
// minima it adds whole replicas by cost per capacity: near the cost optimum.
// From the current counts (clamped to the bounds) it first sheds replicas
// that are not needed, worst cost per capacity first, then adds the same
// way: near the fewest moves, which decides among the many allocations of
// equal cost when variants have equal cost per capacity.
func (s *solver) greedy(fromCurrent bool) {
	for i, it := range s.items {
		s.n[i] = it.min
		if fromCurrent {
			s.n[i] = clampInt(it.cur, it.min, it.max)
		}
	}
	_, capacity, _ := evaluate(s.items, s.n)
	need := s.demand * (1 - coverTol)
	if fromCurrent {
		for k := len(s.shed) - 1; k >= 0; k-- {
			u := s.shed[k]
			it := s.items[u]
			drop := s.n[u] - it.min
			if f := math.Floor((capacity - need) / it.cap); it.cap > 0 && f < float64(drop) {
				drop = int(f)
			}
			if drop > 0 {
				s.n[u] -= drop
				capacity -= float64(drop) * it.cap
			}
		}
	}
	for _, u := range s.order {
		if capacity >= need {
			break
		}
		it := s.items[u]
		k := it.max - s.n[u]
		if x := math.Ceil((need - capacity) / it.cap); x < float64(k) {
			k = int(x)
		}
		k = max(0, min(k, s.poolSpare(u)))
		s.n[u] += k
		capacity += float64(k) * it.cap
	}
	cost, capacity, moves := evaluate(s.items, s.n)
	if covers(capacity, s.demand) && s.withinLimits(s.n) {
		s.offer(cost, moves)
	}
}

func (s *solver) offer(cost float64, moves int) {
	if !s.have || better(cost, moves, s.n, s.bestCost, s.bestMoves, s.best, s.lex) {
		copy(s.best, s.n)
		s.bestCost, s.bestMoves, s.have = cost, moves, true
	}
}

// lpRest is the least cost of items[from:] carrying r when counts may be
// fractional; +Inf when they cannot carry it even at their maxima.
func (s *solver) lpRest(from int, r float64) float64 {
	c := s.sufMinCost[from]
	r -= s.sufMinCap[from]
	if r <= s.slack {
		return c
	}
	for _, u := range s.order {
		if u < from {
			continue
		}
		it := &s.items[u]
		room := float64(it.max-it.min) * it.cap
		if room >= r {
			return c + r/it.cap*it.cost
		}
		c += float64(it.max-it.min) * it.cost
		r -= room
	}
	if r <= s.slack {
		return c
	}
	return math.Inf(1)
}

// movesRest is a lower bound on the replica moves of items[from:] when they
// carry r at a cost of at most budget. From the current counts (clamped to
// the bounds, which moves each item at least that far), a shortfall of
// capacity needs added replicas and an excess of cost removed ones; the
// fewest of each are found by taking the largest capacities (costs) first,
// fractionally, which gives a lower bound. Added and removed replicas are
// different replicas, so the two bounds add up.
func (s *solver) movesRest(from int, r, budget float64) int {
	moves := 0
	capacity, cost := 0.0, 0.0
	for u := from; u < len(s.items); u++ {
		it := &s.items[u]
		c := clampInt(it.cur, it.min, it.max)
		moves += absInt(it.cur - c)
		capacity += float64(c) * it.cap
		cost += float64(c) * it.cost
	}
	extra := 0.0
	if short := r - capacity - s.slack; short > 0 {
		for _, u := range s.byCap {
			it := &s.items[u]
			room := float64(it.max - clampInt(it.cur, it.min, it.max))
			if u < from || room <= 0 || it.cap <= 0 {
				continue
			}
			if room*it.cap >= short {
				extra += short / it.cap
				short = 0
				break
			}
			extra += room
			short -= room * it.cap
		}
		if short > 0 {
			return math.MaxInt // cannot be carried: nothing to win here
		}
	}
	if over := cost - budget; over > 0 {
		for _, u := range s.byCost {
			it := &s.items[u]
			room := float64(clampInt(it.cur, it.min, it.max) - it.min)
			if u < from || room <= 0 || it.cost <= 0 {
				continue
			}
			if room*it.cost >= over {
				extra += over / it.cost
				over = 0
				break
			}
			extra += room
			over -= room * it.cost
		}
		if over > 0 {
			return math.MaxInt // cannot get that cheap: nothing to win here
		}
	}
	return moves + int(math.Min(math.Ceil(extra-1e-9), maxCount))
}

// dfs explores the counts of items[i:] below a node whose items[:i] are fixed
// in s.n with the given cost, capacity and moves. The items are in order of
// cost per capacity, best first (Horowitz–Sahni), so the first leaves are
// near the optimum. The bound of a child is its cost plus the LP relaxation
// of the items left (lpRest); it is convex in the child's count, so the
// counts that can still beat the incumbent form an interval, found by binary
// search. The current count is tried first: it leads to few moves.
func (s *solver) dfs(i int, cost, capacity float64, moves int) {
	s.nodes++
	if s.nodes > maxNodes {
		return
	}
	if i == len(s.items) {
		if covers(capacity, s.demand) {
			s.offer(cost, moves)
		}
		return
	}
	it := s.items[i]
	rest := s.demand - capacity
	lo, hi := it.min, it.max
	// More replicas than carry the rest alone (others at their minimum) is
	// never optimal, for the same reasons as in newSolver.
	b := lo
	if it.cap > 0 {
		b = max(b, countFor(rest-s.sufMinCap[i+1], it.cap))
	}
	if it.cost == 0 {
		b = max(b, it.cur)
	}
	hi = min(hi, b)
	if it.pool > 0 && s.room != nil {
		// Leave the later items of the pool room for their minimum.
		hi = min(hi, (s.room[it.pool-1]-s.minAfter[i])/it.units)
	}
	if lo > hi {
		return
	}
	bound := func(n int) float64 {
		return cost + it.cost*float64(n) + s.lpRest(i+1, rest-it.cap*float64(n))
	}
	// The bound is +Inf (rest cannot be carried) below some count, finite
	// and convex above it.
	lo = searchFirst(lo, hi, func(n int) bool { return !math.IsInf(bound(n), 1) })
	if lo > hi {
		return
	}
	m := searchFirst(lo, hi-1, func(n int) bool {
		f0, f1 := bound(n), bound(n+1)
		return f1 >= f0-costTol(f0, f1)*1e-3
	})
	limit := s.bestCost + costTol(s.bestCost, s.bestCost)
	if bound(m) > limit {
		return
	}
	a := searchFirst(lo, m, func(n int) bool { return bound(n) <= limit })
	z := searchFirst(m, hi, func(n int) bool { return bound(n) > limit }) - 1
	// The current count first (it leads to few moves, the first tie-break),
	// then the rest of the interval downwards.
	first := clampInt(it.cur, a, z)
	s.branch(i, first, cost, capacity, moves, bound(first))
	for n := z; n >= a; n-- {
		if n != first {
			s.branch(i, n, cost, capacity, moves, bound(n))
		}
	}
}

// branch explores items[i] at count n below a node of the given cost,
// capacity and moves, unless its bound f shows it cannot beat the incumbent.
func (s *solver) branch(i, n int, cost, capacity float64, moves int, f float64) {
	it := &s.items[i]
	t := costTol(f, s.bestCost)
	if f > s.bestCost+t {
		return // the incumbent improved since the interval was found
	}
	s.n[i] = n
	nm := moves + absInt(n-it.cur)
	if f >= s.bestCost-t {
		// No completion is cheaper than the incumbent: it can only win the
		// tie-breaks.
		c := cost + it.cost*float64(n)
		mlb := s.movesRest(i+1, s.demand-capacity-it.cap*float64(n), s.bestCost+t-c)
		if mlb != math.MaxInt {
			mlb += nm
		}
		if mlb > s.bestMoves {
			return
		}
	}
	if it.pool > 0 && s.room != nil {
		s.room[it.pool-1] -= n * it.units
		defer func() { s.room[it.pool-1] += n * it.units }()
	}
	s.dfs(i+1, cost+it.cost*float64(n), capacity+it.cap*float64(n), nm)
}

// searchFirst returns the smallest n in [lo, hi] with ok(n), or hi+1 if none;
// ok must be false then true over the range.
func searchFirst(lo, hi int, ok func(int) bool) int {
	for lo <= hi {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid - 1
		} else {
			lo = mid + 1
		}
	}
	return lo
}
