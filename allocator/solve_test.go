package allocator

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bruteForce enumerates every allocation and keeps the best by the same
// order as the solver (cost, then moves, then name order). An unbounded
// variant is enumerated up to one past what the whole load or its current
// count needs, beyond which no allocation can be optimal.
func bruteForce(items []item, demand float64) (best []int, ok bool) {
	hi := make([]int, len(items))
	for i, it := range items {
		hi[i] = it.max
		if it.max < 0 {
			hi[i] = max(it.min, it.cur) + 1
			if it.cap > 0 {
				hi[i] = max(hi[i], int(math.Ceil(demand/it.cap))+1)
			}
		}
	}
	n := make([]int, len(items))
	for i, it := range items {
		n[i] = it.min
	}
	var bestCost float64
	var bestMoves int
	for {
		cost, capacity, moves := evaluate(items, n)
		if covers(capacity, demand) && (!ok || better(cost, moves, n, bestCost, bestMoves, best, nil)) {
			best, bestCost, bestMoves, ok = slices.Clone(n), cost, moves, true
		}
		k := 0
		for k < len(n) && n[k] == hi[k] {
			n[k] = items[k].min
			k++
		}
		if k == len(n) {
			return best, ok
		}
		n[k]++
	}
}

// hasDuplicates reports whether two items have the same cost and capacity.
// The solver merges them, and among allocations of equal cost and moves
// its name order is then that of the merged items, not of the variants.
func hasDuplicates(items []item) bool {
	for i := range items {
		for j := range i {
			if items[i].cost == items[j].cost && items[i].cap == items[j].cap {
				return true
			}
		}
	}
	return false
}

func randomGroup(rng *rand.Rand) ([]item, float64) {
	costs := []float64{0, 1, 2, 2.5, 3, 5, 7.5, 10}
	caps := []float64{0, 0.5, 1, 1.5, 2, 3}
	items := make([]item, 1+rng.IntN(5))
	total := 0.0
	// Some groups have every variant at the same cost per capacity, the
	// hardest case for the bound (every allocation of the same capacity
	// costs the same).
	sameRatio := rng.IntN(6) == 0
	for i := range items {
		it := item{min: rng.IntN(3), cur: rng.IntN(7)}
		if rng.IntN(3) == 0 {
			it.cost = 0.5 + 20*rng.Float64()
		} else {
			it.cost = costs[rng.IntN(len(costs))]
		}
		if rng.IntN(3) == 0 {
			it.cap = 0.1 + 5*rng.Float64()
		} else {
			it.cap = caps[rng.IntN(len(caps))]
		}
		if sameRatio {
			it.cost = 2.5 * it.cap
		}
		if i > 0 && rng.IntN(6) == 0 {
			// A duplicate of the previous variant but for its counts.
			it.cost, it.cap = items[i-1].cost, items[i-1].cap
		}
		if rng.IntN(5) == 0 {
			it.max = Unbounded
			total += 4 * it.cap
		} else {
			it.max = it.min + rng.IntN(5)
			total += float64(it.max) * it.cap
		}
		items[i] = it
	}
	var demand float64
	switch rng.IntN(4) {
	case 0: // exactly what some allocation carries: the boundary case
		for _, it := range items {
			demand += it.cap * float64(rng.IntN(4))
		}
	case 1:
		demand = 0
	default: // up to a fifth beyond what the maxima carry: some are limited
		demand = total * 1.2 * rng.Float64()
	}
	return items, demand
}

// The solver's answer equals the brute-force optimum, including the
// tie-breaks, and satisfies every constraint.
func TestSolveMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	const groups = 12000
	limited := 0
	for g := range groups {
		items, demand := randomGroup(rng)
		got := solve(items, demand)
		want, ok := bruteForce(items, demand)
		if !ok {
			limited++
			if !got.limited {
				t.Fatalf("group %d %+v demand %v: brute force finds no feasible allocation, solver %v not limited", g, items, demand, got.n)
			}
			for i, it := range items {
				w := it.min
				if it.cap > 0 {
					w = it.max
				}
				if got.n[i] != w {
					t.Fatalf("group %d %+v demand %v: limited allocation %v, want maxima of carrying variants", g, items, demand, got.n)
				}
			}
			continue
		}
		if got.limited {
			t.Fatalf("group %d %+v demand %v: solver limited, brute force found %v", g, items, demand, want)
		}
		wantCost, _, wantMoves := evaluate(items, want)
		cost, capacity, moves := evaluate(items, got.n)
		if math.Abs(cost-wantCost) > costTol(cost, wantCost) {
			t.Fatalf("group %d %+v demand %v: cost %v (%v), brute force %v (%v)", g, items, demand, cost, got.n, wantCost, want)
		}
		if moves != wantMoves {
			t.Fatalf("group %d %+v demand %v: moves %d (%v), brute force %d (%v)", g, items, demand, moves, got.n, wantMoves, want)
		}
		if diff := cmp.Diff(want, got.n); diff != "" && !hasDuplicates(items) {
			t.Fatalf("group %d %+v demand %v: tie-break differs (moves %d vs %d) (-brute +solver):\n%s", g, items, demand, wantMoves, moves, diff)
		}
		if !covers(capacity, demand) {
			t.Fatalf("group %d: capacity %v does not carry %v", g, capacity, demand)
		}
		for i, it := range items {
			if got.n[i] < it.min || (it.max >= 0 && got.n[i] > it.max) {
				t.Fatalf("group %d: n[%d] = %d outside [%d, %d]", g, i, got.n[i], it.min, it.max)
			}
		}
	}
	// The generator must exercise both kinds of group.
	if limited < groups/20 || limited > groups/2 {
		t.Errorf("%d of %d groups limited: generator out of balance", limited, groups)
	}
}

func TestSolveTieBreaks(t *testing.T) {
	tests := map[string]struct {
		items  []item
		demand float64
		want   []int
	}{
		// Two identical variants: the current split is kept.
		"keeps current": {
			items:  []item{{cost: 1, cap: 1, max: 10, cur: 1}, {cost: 1, cap: 1, max: 10, cur: 2}},
			demand: 3, want: []int{1, 2},
		},
		// Scale up by one: the fewest moves add one replica anywhere; then
		// the first name gets it.
		"fewest moves then name": {
			items:  []item{{cost: 1, cap: 1, max: 10, cur: 1}, {cost: 1, cap: 1, max: 10, cur: 1}},
			demand: 3, want: []int{2, 1},
		},
		"name order from nothing": {
			items:  []item{{cost: 2, cap: 2, max: Unbounded}, {cost: 1, cap: 1, max: Unbounded}},
			demand: 4, want: []int{2, 0},
		},
		// A free variant keeps its replicas rather than move them.
		"free keeps current": {
			items:  []item{{cost: 0, cap: 1, max: 10, cur: 5}, {cost: 1, cap: 1, max: 10}},
			demand: 2, want: []int{5, 0},
		},
		// Cheaper per capacity wins over fewer moves.
		"cost first": {
			items:  []item{{cost: 3, cap: 1, max: 10, cur: 4}, {cost: 4, cap: 2, max: 10}},
			demand: 4, want: []int{0, 2},
		},
		// An unbounded variant needs at most ceil(λ/r) replicas.
		"unbounded terminates": {
			items:  []item{{cost: 1, cap: 0.001, max: Unbounded}},
			demand: 12345.6, want: []int{12345600},
		},
		"zero demand at minimum": {
			items:  []item{{cost: 1, cap: 1, min: 2, max: 5, cur: 4}, {cost: 0, cap: 0, min: 0, max: Unbounded, cur: 3}},
			demand: 0, want: []int{2, 3},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := solve(tc.items, tc.demand)
			if diff := cmp.Diff(tc.want, got.n); diff != "" || got.limited {
				t.Errorf("limited %v, allocation (-want +got):\n%s", got.limited, diff)
			}
		})
	}
}

// Sixteen variants with large unbounded ranges and distinct costs per
// capacity are solved exactly and fast: the interval search skips hopeless
// counts instead of walking over them.
func TestSolveLargeGroupIsQuick(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		items := make([]item, 16)
		for i := range items {
			items[i] = item{cost: 1 + 99*rng.Float64(), cap: 0.05 + 10*rng.Float64(), max: Unbounded, cur: rng.IntN(50)}
		}
		got := solve(items, 2000*rng.Float64())
		if got.nodes > 100000 || !got.exact {
			t.Errorf("%d nodes for 16 variants (exact %v)", got.nodes, got.exact)
		}
	}
}

// Many variants of nearly equal cost per capacity (a strongly correlated
// knapsack) may exhaust the search budget: the answer is still feasible,
// within bounds, and at most one replica dearer than the LP bound.
func TestSolveBudgetKeepsAFeasibleAnswer(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	approximate := 0
	for range 60 {
		items := make([]item, 16)
		lp := make([]item, 0, 16)
		for i := range items {
			c := 0.1 + 5*rng.Float64()
			items[i] = item{cost: c * (1 + 0.01*rng.Float64()), cap: c, max: Unbounded, cur: rng.IntN(30)}
			lp = append(lp, items[i])
		}
		demand := 1000 * rng.Float64()
		got := solve(items, demand)
		if !got.exact {
			approximate++
		}
		if !covers(got.capacity, demand) {
			t.Fatalf("capacity %v below demand %v", got.capacity, demand)
		}
		// LP bound: everything on the best cost per capacity.
		slices.SortFunc(lp, byRatio)
		bound := demand * lp[0].cost / lp[0].cap
		if got.cost > bound+lp[0].cost+maxCost(items) {
			t.Errorf("cost %v far above the LP bound %v", got.cost, bound)
		}
	}
	if approximate == 0 {
		t.Log("no group exhausted the budget")
	}
}

func maxCost(items []item) float64 {
	m := 0.0
	for _, it := range items {
		m = math.Max(m, it.cost)
	}
	return m
}
