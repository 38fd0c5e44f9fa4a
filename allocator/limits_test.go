package allocator

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bruteForceLimited enumerates every allocation within the bounds and the
// pool limits (raised to what the minima take). When some carries the
// demand, the best by cost, moves and name order wins; otherwise those that
// carry the most capacity compete the same way.
func bruteForceLimited(items []item, demand float64, limits []int) (best []int, limited bool) {
	lim := slices.Clone(limits)
	mins := make([]int, len(lim))
	for _, it := range items {
		if it.pool > 0 {
			mins[it.pool-1] += it.min * it.units
		}
	}
	for p := range lim {
		lim[p] = max(lim[p], mins[p])
	}
	hi := make([]int, len(items))
	for i, it := range items {
		hi[i] = it.max
		if it.max < 0 {
			hi[i] = max(it.min, it.cur) + 1
			if it.cap > 0 {
				hi[i] = max(hi[i], int(math.Ceil(demand/it.cap))+1)
			}
		}
		if it.pool > 0 {
			hi[i] = max(it.min, min(hi[i], it.min+lim[it.pool-1]/it.units))
		}
	}
	var all [][]int
	n := make([]int, len(items))
	for i, it := range items {
		n[i] = it.min
	}
	for {
		used := make([]int, len(lim))
		for i, it := range items {
			if it.pool > 0 {
				used[it.pool-1] += n[i] * it.units
			}
		}
		ok := true
		for p := range lim {
			ok = ok && used[p] <= lim[p]
		}
		if ok {
			all = append(all, slices.Clone(n))
		}
		k := 0
		for k < len(n) && n[k] == hi[k] {
			n[k] = items[k].min
			k++
		}
		if k == len(n) {
			break
		}
		n[k]++
	}
	pick := func(target float64) []int {
		var b []int
		var bc float64
		var bm int
		for _, a := range all {
			cost, capacity, moves := evaluate(items, a)
			if covers(capacity, target) && (b == nil || better(cost, moves, a, bc, bm, b, nil)) {
				b, bc, bm = a, cost, moves
			}
		}
		return b
	}
	if b := pick(demand); b != nil {
		return b, false
	}
	reach := 0.0
	for _, a := range all {
		_, capacity, _ := evaluate(items, a)
		reach = math.Max(reach, capacity)
	}
	return pick(reach), true
}

// randomLimited is a random group (see randomGroup) whose variants draw on
// one or two pools, some on none, with one to three units per replica and
// small limits, so that many groups are bound by them.
func randomLimited(rng *rand.Rand) ([]item, float64, []int) {
	items, demand := randomGroup(rng)
	limits := make([]int, 1+rng.IntN(2))
	for p := range limits {
		limits[p] = rng.IntN(9)
	}
	for i := range items {
		if rng.IntN(4) > 0 {
			items[i].pool = 1 + rng.IntN(len(limits))
			items[i].units = 1 + rng.IntN(3)
		}
	}
	return items, demand, limits
}

// With limits, the solver's answer equals the brute-force optimum: the same
// cost, moves and (without duplicate variants) allocation, within every
// limit, and limited exactly when brute force finds nothing that carries
// the demand, then carrying the most that any allocation carries.
func TestSolveLimitedMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	const groups = 12000
	bound, limitedCount := 0, 0
	for g := range groups {
		items, demand, limits := randomLimited(rng)
		got := solveLimited(items, demand, limits)
		want, limited := bruteForceLimited(items, demand, limits)
		if got.limited != limited {
			t.Fatalf("group %d %+v demand %v limits %v: limited %v, brute force %v (%v vs %v)", g, items, demand, limits, got.limited, limited, got.n, want)
		}
		if limited {
			limitedCount++
		}
		wantCost, wantCap, wantMoves := evaluate(items, want)
		cost, capacity, moves := evaluate(items, got.n)
		if limited && !covers(capacity, wantCap) {
			t.Fatalf("group %d %+v limits %v: carries %v, brute force %v (%v vs %v)", g, items, limits, capacity, wantCap, got.n, want)
		}
		if math.Abs(cost-wantCost) > costTol(cost, wantCost) || moves != wantMoves {
			t.Fatalf("group %d %+v demand %v limits %v: cost %v moves %d (%v), brute force %v %d (%v)", g, items, demand, limits, cost, moves, got.n, wantCost, wantMoves, want)
		}
		if diff := cmp.Diff(want, got.n); diff != "" && !hasDuplicates(items) {
			t.Fatalf("group %d %+v demand %v limits %v: tie-break differs (-brute +solver):\n%s", g, items, demand, limits, diff)
		}
		used := make([]int, len(limits))
		for i, it := range items {
			if got.n[i] < it.min || (it.max >= 0 && got.n[i] > it.max) {
				t.Fatalf("group %d: n[%d] = %d outside [%d, %d]", g, i, got.n[i], it.min, it.max)
			}
			if it.pool > 0 {
				used[it.pool-1] += (got.n[i] - it.min) * it.units
			}
		}
		for p := range limits {
			mins := 0
			for _, it := range items {
				if it.pool == p+1 {
					mins += it.min * it.units
				}
			}
			if used[p]+mins > max(limits[p], mins) {
				t.Fatalf("group %d: pool %d uses %d, limit %d (minima %d)", g, p+1, used[p]+mins, limits[p], mins)
			}
		}
		// Count the groups where the limits changed the unlimited answer.
		if free := solve(items, demand); !slices.Equal(free.n, got.n) {
			bound++
		}
	}
	if bound < groups/5 || limitedCount < groups/10 {
		t.Errorf("limits bound %d and left %d of %d groups unable to carry the load: generator out of balance", bound, limitedCount, groups)
	}
	t.Logf("%d of %d groups bound by their limits, %d of them unable to carry the load", bound, groups, limitedCount)
}

// Without any limited variant the limited solve is the plain one.
func TestSolveLimitedWithoutPoolsIsSolve(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 2))
	for range 500 {
		items, demand := randomGroup(rng)
		if diff := cmp.Diff(solve(items, demand), solveLimited(items, demand, nil), cmp.AllowUnexported(allocation{})); diff != "" {
			t.Fatalf("(-solve +limited):\n%s", diff)
		}
	}
}
