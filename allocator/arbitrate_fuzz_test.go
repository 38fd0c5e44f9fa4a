package allocator

import (
	"math/rand/v2"
	"testing"
)

// FuzzArbitrate: whatever the claims and the inventory, the arbitration
// returns an error or budgets that fit the inventory of every contended type
// and keep the minimum rule, and lists as changed exactly the groups whose
// budget differs from the previous one.
//
//	GOWORK=off go test -run '^$' -fuzz '^FuzzArbitrate$' -fuzztime 20s ./allocator/
func FuzzArbitrate(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed, uint64(7))
	}
	f.Fuzz(func(t *testing.T, seed, seed2 uint64) {
		rng := rand.New(rand.NewPCG(seed, seed2))
		claims, inv := randomClaims(rng)
		if rng.IntN(8) == 0 {
			claims[0].Steps["A"] = append(claims[0].Steps["A"], Step{Units: rng.IntN(3), Load: rng.Float64(), Count: rng.IntN(3)})
		}
		prev := Budgets{}
		for _, c := range claims {
			if rng.IntN(2) == 0 {
				prev[c.Group] = Limits{"A": rng.IntN(5)}
			}
		}
		a, err := arbitrate(claims, inv, prev, rng.IntN(2)*ExactWorkLimit)
		if err != nil {
			return // refused input (a zero-unit step)
		}
		checkArbitration(t, claims, inv, a)
		for _, typ := range a.Contended {
			grants, _ := minGrants(claims, typ, inv[typ])
			for _, c := range claims {
				if b, ok := a.Budgets[c.Group][typ]; ok && b < grants[c.Group] {
					t.Fatalf("group %s below its granted minimum on %s: %d < %d", c.Group, typ, b, grants[c.Group])
				}
			}
		}
		changed := map[string]bool{}
		for _, g := range a.Changed {
			changed[g] = true
		}
		for _, c := range claims {
			if changed[c.Group] == equalLimits(a.Budgets[c.Group], prev[c.Group]) {
				t.Fatalf("group %s: changed %v, budgets %v and before %v", c.Group, changed[c.Group], a.Budgets[c.Group], prev[c.Group])
			}
		}
	})
}
