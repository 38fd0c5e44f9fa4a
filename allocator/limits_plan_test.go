package allocator

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func onType(v Variant, accelerator string, units int) Variant {
	v.Accelerator, v.Units = accelerator, units
	return v
}

// Plans under accelerator limits: the optimum within the limits, the
// report of what the group would need, and the rules applied after the
// optimum never exceeding a limit.
func TestPlanWithLimits(t *testing.T) {
	// h: 10 req/s for 100/h on 2 H100 (5 per 100/h... cheapest per req/s);
	// a: 5 req/s for 60/h on 1 A100.
	h := func(cur int) Variant { return onType(variantWith("h", 100, 10, 0, Unbounded, cur), "H100", 2) }
	a := func(cur int) Variant { return onType(variantWith("a", 60, 5, 0, 4, cur), "A100", 1) }
	tests := map[string]struct {
		variants    []Variant
		rate        float64
		limits      Limits
		policy      Policy
		state       State
		want        map[string]want
		wantOutcome Outcome
		wantBudget  *BudgetReport
	}{
		"no limits: H100 only": {
			variants: []Variant{h(0), a(0)}, rate: 40,
			want:        map[string]want{"h": {4, ReasonLoadChange}, "a": {0, ReasonOptimal}},
			wantOutcome: OutcomeSucceeded,
		},
		"limits not binding": {
			variants: []Variant{h(0), a(0)}, rate: 40, limits: Limits{"H100": 8},
			want:        map[string]want{"h": {4, ReasonLoadChange}, "a": {0, ReasonOptimal}},
			wantOutcome: OutcomeSucceeded,
			wantBudget:  &BudgetReport{Limits: Limits{"H100": 8}, Uses: map[string]int{"H100": 8}, Needs: map[string]int{"H100": 8}},
		},
		"H100 budget: the rest moves to A100": {
			variants: []Variant{h(0), a(0)}, rate: 40, limits: Limits{"H100": 5},
			want:        map[string]want{"h": {2, ReasonLoadChange}, "a": {4, ReasonLoadChange}},
			wantOutcome: OutcomeSucceeded,
			wantBudget: &BudgetReport{Limited: true, Limits: Limits{"H100": 5},
				Uses: map[string]int{"H100": 4, "A100": 4}, Needs: map[string]int{"H100": 8}},
		},
		"both limited: the most capacity, the load it cannot carry reported": {
			variants: []Variant{h(0), a(0)}, rate: 40, limits: Limits{"H100": 2, "A100": 3},
			want:        map[string]want{"h": {1, ReasonCapacityLimited}, "a": {3, ReasonCapacityLimited}},
			wantOutcome: OutcomeCapacityLimited,
			wantBudget: &BudgetReport{Limited: true, Limits: Limits{"H100": 2, "A100": 3},
				Uses: map[string]int{"H100": 2, "A100": 3}, Needs: map[string]int{"H100": 8}, Unserved: 15},
		},
		"a budget of zero": {
			variants: []Variant{h(0)}, rate: 40, limits: Limits{"H100": 0},
			want:        map[string]want{"h": {0, ReasonCapacityLimited}},
			wantOutcome: OutcomeCapacityLimited,
			wantBudget: &BudgetReport{Limited: true, Limits: Limits{"H100": 0},
				Uses: map[string]int{}, Needs: map[string]int{"H100": 8}, Unserved: 40},
		},
		"minimum replicas hold above the limit": {
			variants: []Variant{onType(variantWith("h", 100, 10, 3, Unbounded, 3), "H100", 2)}, rate: 40, limits: Limits{"H100": 2},
			want:        map[string]want{"h": {3, ReasonCapacityLimited}},
			wantOutcome: OutcomeCapacityLimited,
			wantBudget: &BudgetReport{Limited: true, Limits: Limits{"H100": 2},
				Uses: map[string]int{"H100": 6}, Needs: map[string]int{"H100": 8}, Unserved: 10},
		},
		// The stabilization window would hold 6 replicas; 3 fit in the budget.
		"a held scale-down gives way to the budget": {
			variants: []Variant{h(6)}, rate: 20, limits: Limits{"H100": 6},
			policy: Policy{StabilizationWindow: 5 * time.Minute},
			state:  State{Recommendations: map[string][]Recommendation{"h": {{Time: t0.Add(-time.Minute), Replicas: 6}}}},
			want:   map[string]want{"h": {3, ReasonCapacityLimited}}, wantOutcome: OutcomeSucceeded,
			wantBudget: &BudgetReport{Limits: Limits{"H100": 6}, Uses: map[string]int{"H100": 6}, Needs: map[string]int{"H100": 4}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			in := Input{Variants: tc.variants, SLO: looseSLO, Load: loadOf(tc.rate), Policy: tc.policy, State: tc.state, Now: t0, Limits: tc.limits}
			r := mustPlan(t, in)
			if diff := cmp.Diff(tc.want, decisions(r)); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if r.Outcome != tc.wantOutcome {
				t.Errorf("outcome %s, want %s", r.Outcome, tc.wantOutcome)
			}
			if diff := cmp.Diff(tc.wantBudget, r.Budget, cmpopts.EquateApprox(0, 1e-3)); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanRefusesBadLimits(t *testing.T) {
	for name, in := range map[string]Input{
		"negative limit": {Variants: []Variant{variantWith("h", 1, 1, 0, 1, 0)}, Limits: Limits{"H100": -1}},
		"huge limit":     {Variants: []Variant{variantWith("h", 1, 1, 0, 1, 0)}, Limits: Limits{"H100": MaxLimit + 1}},
		"bad units":      {Variants: []Variant{onType(variantWith("h", 1, 1, 0, 1, 0), "H100", -2)}},
	} {
		t.Run(name, func(t *testing.T) {
			in.SLO, in.Load, in.Now = looseSLO, loadOf(1), t0
			if _, err := Plan(in, nil); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %v, want ErrInvalidInput", err)
			}
		})
	}
}
