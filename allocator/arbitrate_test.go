package allocator

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

var arbTypes = []string{"A", "B", "C"}

// randomClaims is a small instance: up to 4 groups at up to 3 priorities on
// up to 3 types, each with a minimum and one or two kinds of replica of up
// to 3 units, and inventories of up to 12 units.
func randomClaims(rng *rand.Rand) ([]Claim, map[string]int) {
	types := arbTypes[:1+rng.IntN(3)]
	claims := make([]Claim, 1+rng.IntN(4))
	for g := range claims {
		c := Claim{Group: fmt.Sprintf("g%d", g), Priority: rng.IntN(3), Min: map[string]int{}, Steps: map[string][]Step{}, Alternatives: map[string]Step{}}
		for _, t := range types {
			if rng.IntN(4) == 0 {
				continue
			}
			if rng.IntN(3) == 0 {
				c.Min[t] = 1 + rng.IntN(3)
			}
			for range 1 + rng.IntN(2) {
				s := Step{Units: 1 + rng.IntN(3), Count: 1 + rng.IntN(2), Load: 0.5 + 9.5*rng.Float64()}
				if rng.IntN(5) == 0 {
					s.Load = float64(1 + rng.IntN(3)) // exact ties
				}
				c.Steps[t] = append(c.Steps[t], s)
			}
			c.Alternatives[t] = Step{Units: 1 + rng.IntN(2), Load: 1 + 5*rng.Float64(), Count: 1}
		}
		claims[g] = c
	}
	inv := map[string]int{}
	for _, t := range types {
		inv[t] = rng.IntN(13)
	}
	return claims, inv
}

// minGrants applies the minimum rule on its own: minima in priority order,
// then group name, while the inventory lasts. It returns the grants and the
// units left.
func minGrants(claims []Claim, t string, inventory int) (map[string]int, int) {
	order := slices.Clone(claims)
	slices.SortFunc(order, func(a, b Claim) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.Group, b.Group))
	})
	grants := map[string]int{}
	for _, c := range order {
		g := min(c.Min[t], inventory)
		grants[c.Group] = g
		inventory -= g
	}
	return grants, inventory
}

type kind struct {
	group int
	Step
}

func kindsOf(claims []Claim, t string, keep func(Claim) bool) []kind {
	var ks []kind
	for g, c := range claims {
		if keep(c) {
			for _, s := range c.Steps[t] {
				ks = append(ks, kind{g, s})
			}
		}
	}
	return ks
}

// enumerate calls f with every choice of replica counts of the kinds.
func enumerate(ks []kind, f func(x []int)) {
	x := make([]int, len(ks))
	for {
		f(x)
		k := 0
		for k < len(x) && x[k] == ks[k].Count {
			x[k] = 0
			k++
		}
		if k == len(x) {
			return
		}
		x[k]++
	}
}

func levelsOf(claims []Claim) []int {
	var ps []int
	for _, c := range claims {
		ps = append(ps, c.Priority)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

// lexBetter compares served loads per priority level, the first level first.
func lexBetter(a, b []float64) bool {
	for l := range a {
		switch {
		case greater(a[l], b[l]):
			return true
		case greater(b[l], a[l]):
			return false
		}
	}
	return false
}

// bruteOptimum is the lexicographic optimum of the load served per priority
// level on type t, over every choice of replicas within the units left after
// the minima.
func bruteOptimum(claims []Claim, t string, inventory int) []float64 {
	_, left := minGrants(claims, t, inventory)
	levels := levelsOf(claims)
	ks := kindsOf(claims, t, func(Claim) bool { return true })
	best := make([]float64, len(levels))
	enumerate(ks, func(x []int) {
		units := 0
		v := make([]float64, len(levels))
		for k, n := range x {
			units += n * ks[k].Units
			v[slices.Index(levels, claims[ks[k].group].Priority)] += float64(n) * ks[k].Load
		}
		if units <= left && lexBetter(v, best) {
			best = v
		}
	})
	return best
}

// bestWithin is the most load one group's steps serve within b units.
func bestWithin(steps []Step, b int) float64 {
	ks := make([]kind, len(steps))
	for i, s := range steps {
		ks[i] = kind{0, s}
	}
	best := 0.0
	enumerate(ks, func(x []int) {
		units, v := 0, 0.0
		for k, n := range x {
			units += n * ks[k].Units
			v += float64(n) * ks[k].Load
		}
		if units <= b && v > best {
			best = v
		}
	})
	return best
}

// servedByLevel is what the budgets serve per priority level on type t,
// evaluated independently of the arbitration's own curves.
func servedByLevel(t *testing.T, claims []Claim, typ string, inventory int, budgets Budgets) []float64 {
	t.Helper()
	grants, _ := minGrants(claims, typ, inventory)
	levels := levelsOf(claims)
	v := make([]float64, len(levels))
	for _, c := range claims {
		b, ok := budgets[c.Group][typ]
		if !ok {
			if c.Min[typ] > 0 || len(c.Steps[typ]) > 0 {
				t.Fatalf("type %s contended, group %s on it has no budget", typ, c.Group)
			}
			continue
		}
		if b < grants[c.Group] {
			t.Fatalf("type %s: group %s budget %d below its granted minimum %d", typ, c.Group, b, grants[c.Group])
		}
		v[slices.Index(levels, c.Priority)] += bestWithin(c.Steps[typ], b-grants[c.Group])
	}
	return v
}

// checkArbitration checks what every arbitration must satisfy: budgets
// within the inventory, the minimum rule, and leftovers only from spare.
func checkArbitration(t *testing.T, claims []Claim, inv map[string]int, a Arbitration) {
	t.Helper()
	for _, typ := range sortedTypes(inv) {
		demand, budgeted := 0, 0
		for _, c := range claims {
			demand += c.Min[typ] + stepUnits(c.Steps[typ])
			if b, ok := a.Budgets[c.Group][typ]; ok {
				budgeted += b
				if !slices.Contains(a.Contended, typ) {
					// A leftover budget: its demand plus what it is offered.
					budgeted -= c.Min[typ] + stepUnits(c.Steps[typ])
				}
			}
		}
		contended := demand > inv[typ]
		if contended != slices.Contains(a.Contended, typ) {
			t.Fatalf("type %s: demand %d, inventory %d, contended %v", typ, demand, inv[typ], a.Contended)
		}
		limit := inv[typ]
		if !contended {
			limit = inv[typ] - demand
		}
		if budgeted > limit {
			t.Fatalf("type %s: %d units budgeted (or offered), %d available", typ, budgeted, limit)
		}
	}
}

// The exact arbitration serves, per priority level and type, exactly the
// lexicographic optimum found by brute force, on 1,000 random instances.
func TestArbitrateMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	contended := 0
	for n := range 1000 {
		claims, inv := randomClaims(rng)
		a, err := Arbitrate(claims, inv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !a.Exact {
			t.Fatalf("instance %d: small instance not solved exactly", n)
		}
		checkArbitration(t, claims, inv, a)
		for _, typ := range a.Contended {
			contended++
			want := bruteOptimum(claims, typ, inv[typ])
			got := servedByLevel(t, claims, typ, inv[typ], a.Budgets)
			if lexBetter(want, got) || lexBetter(got, want) {
				t.Fatalf("instance %d type %s inventory %d %+v: served per level %v, brute force %v", n, typ, inv[typ], claims, got, want)
			}
		}
	}
	if contended < 500 {
		t.Errorf("only %d contended types in 1,000 instances: generator out of balance", contended)
	}
	t.Logf("%d contended types checked", contended)
}

// The greedy fill, forced on the same instances, serves at every priority
// level at least the optimum for the units it had left minus the load of
// one replica of that level (its documented bound), and never more.
func TestArbitrateGreedyWithinBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 3))
	worst, gaps := 0.0, 0
	for n := range 1000 {
		claims, inv := randomClaims(rng)
		a, err := arbitrate(claims, inv, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkArbitration(t, claims, inv, a)
		for _, typ := range a.Contended {
			grants, left := minGrants(claims, typ, inv[typ])
			got := servedByLevel(t, claims, typ, inv[typ], a.Budgets)
			for l, p := range levelsOf(claims) {
				atLevel := func(c Claim) bool { return c.Priority == p }
				var level []Claim
				maxLoad := 0.0
				for _, c := range claims {
					if atLevel(c) {
						c.Min = nil // granted already: left is what the level shares
						level = append(level, c)
						for _, s := range c.Steps[typ] {
							maxLoad = math.Max(maxLoad, s.Load)
						}
					}
				}
				opt := bruteOptimum(level, typ, left)[0]
				if got[l] > opt+1e-9*math.Max(1, opt) || got[l] < opt-maxLoad-1e-9*math.Max(1, opt) {
					t.Fatalf("instance %d type %s level %d: greedy %v, optimum %v, bound %v", n, typ, p, got[l], opt, maxLoad)
				}
				if gap := opt - got[l]; gap > 1e-9 {
					gaps++
					worst = math.Max(worst, gap/maxLoad)
				}
				for _, c := range level {
					left -= a.Budgets[c.Group][typ] - grants[c.Group]
				}
			}
		}
	}
	t.Logf("greedy below the optimum on %d levels; worst gap %.2f of one replica's load", gaps, worst)
}

func TestArbitrateCases(t *testing.T) {
	one := func(units int, load float64, count int) []Step {
		return []Step{{Units: units, Load: load, Count: count}}
	}
	tests := map[string]struct {
		claims      []Claim
		inventory   map[string]int
		prev        Budgets
		want        Budgets
		wantChanged []string
	}{
		"enough for everyone: no budgets": {
			claims: []Claim{
				{Group: "hi", Priority: 0, Steps: map[string][]Step{"H100": one(1, 10, 4)}},
				{Group: "lo", Priority: 5, Steps: map[string][]Step{"H100": one(1, 10, 4)}},
			},
			inventory: map[string]int{"H100": 8},
			want:      Budgets{},
		},
		"one pool, two priorities: the more important first": {
			claims: []Claim{
				{Group: "hi", Priority: 0, Steps: map[string][]Step{"H100": one(1, 10, 6)}},
				{Group: "lo", Priority: 5, Steps: map[string][]Step{"H100": one(1, 10, 4)}},
			},
			inventory:   map[string]int{"H100": 8},
			want:        Budgets{"hi": {"H100": 6}, "lo": {"H100": 2}},
			wantChanged: []string{"hi", "lo"},
		},
		"the less important keeps its minimum": {
			claims: []Claim{
				{Group: "hi", Priority: 0, Steps: map[string][]Step{"H100": one(1, 10, 10)}},
				{Group: "lo", Priority: 5, Min: map[string]int{"H100": 2}, Steps: map[string][]Step{"H100": one(1, 10, 4)}},
			},
			inventory: map[string]int{"H100": 8},
			want:      Budgets{"hi": {"H100": 6}, "lo": {"H100": 2}},
			prev:      Budgets{"hi": {"H100": 6}, "lo": {"H100": 2}},
		},
		"within a priority the most load per accelerator": {
			claims: []Claim{
				{Group: "dense", Priority: 1, Steps: map[string][]Step{"H100": one(2, 30, 3)}},
				{Group: "sparse", Priority: 1, Steps: map[string][]Step{"H100": one(2, 10, 3)}},
			},
			inventory:   map[string]int{"H100": 8},
			want:        Budgets{"dense": {"H100": 6}, "sparse": {"H100": 2}},
			prev:        Budgets{"dense": {"H100": 6}, "sparse": {"H100": 4}},
			wantChanged: []string{"sparse"},
		},
		// Three units left: one 2-unit replica of 5 req/s and a 1-unit one
		// of 3 beat one 3-unit replica of 7.
		"exact, not greedy": {
			claims: []Claim{
				{Group: "a", Priority: 0, Steps: map[string][]Step{"H100": one(3, 7, 1)}},
				{Group: "b", Priority: 0, Steps: map[string][]Step{"H100": one(2, 5, 1)}},
				{Group: "c", Priority: 0, Steps: map[string][]Step{"H100": one(1, 3, 1)}},
			},
			inventory:   map[string]int{"H100": 3},
			want:        Budgets{"a": {"H100": 0}, "b": {"H100": 2}, "c": {"H100": 1}},
			wantChanged: []string{"a", "b", "c"},
		},
		"short on H100, offered spare A100": {
			claims: []Claim{
				{Group: "m", Priority: 0, Steps: map[string][]Step{"H100": one(1, 10, 4)},
					Alternatives: map[string]Step{"H100": {Units: 1, Load: 10, Count: 1}, "A100": {Units: 1, Load: 4, Count: 1}}},
				{Group: "other", Priority: 0, Steps: map[string][]Step{"A100": one(1, 4, 2)}},
			},
			inventory:   map[string]int{"H100": 2, "A100": 10},
			want:        Budgets{"m": {"H100": 2, "A100": 5}},
			wantChanged: []string{"m"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a, err := Arbitrate(tc.claims, tc.inventory, tc.prev)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tc.want, a.Budgets); diff != "" {
				t.Errorf("budgets (-want +got):\n%s", diff)
			}
			if diff := gocmp.Diff(tc.wantChanged, a.Changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestArbitrateRefusesBadClaims(t *testing.T) {
	for name, claims := range map[string][]Claim{
		"no group": {{}},
		"twice":    {{Group: "a"}, {Group: "a"}},
		"bad step": {{Group: "a", Steps: map[string][]Step{"H100": {{Units: 0, Load: 1, Count: 1}}}}},
		"nan load": {{Group: "a", Steps: map[string][]Step{"H100": {{Units: 1, Load: math.NaN(), Count: 1}}}}},
		"negative": {{Group: "a", Min: map[string]int{"H100": -1}}},
		"too many": {{Group: "a", Steps: map[string][]Step{"H100": {{Units: 4096, Load: 1, Count: 1 << 20}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Arbitrate(claims, map[string]int{"H100": 1}, nil); err == nil {
				t.Error("accepted")
			}
		})
	}
}
