package allocator

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// One bad variant never blinds its group: it is left out with its own error
// and the others are planned as if it were not there.
func TestPlanLeavesOutInvalidVariants(t *testing.T) {
	tests := map[string]struct {
		bad     func(*Variant)
		policy  Policy
		wantErr string
	}{
		"cost above the limit":      {bad: func(v *Variant) { v.Cost = 1_000_000_001 }, wantErr: "cost must be in"},
		"NaN cost":                  {bad: func(v *Variant) { v.Cost = math.NaN() }, wantErr: "cost must be in"},
		"negative cost":             {bad: func(v *Variant) { v.Cost = -1 }, wantErr: "cost must be in"},
		"negative min":              {bad: func(v *Variant) { v.Min = -1 }, wantErr: "min replicas"},
		"max below min":             {bad: func(v *Variant) { v.Min, v.Max = 3, 2 }, wantErr: "max replicas"},
		"negative current":          {bad: func(v *Variant) { v.Current = -1 }, wantErr: "current replicas"},
		"min above the ceiling":     {bad: func(v *Variant) { v.Min = 100_000 }, policy: Policy{MaxReplicasPerVariant: 100}, wantErr: "exceed the operator's ceiling of 100"},
		"min above the API maximum": {bad: func(v *Variant) { v.Min = MaxReplicas + 1 }, wantErr: "min replicas"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			bad := variantWith("bad", 5, 1, 0, Unbounded, 2)
			tc.bad(&bad)
			in := Input{
				Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1), bad, variantWith("c", 20, 1, 0, Unbounded, 1)},
				SLO:      looseSLO, Load: loadOf(4), Policy: tc.policy, Now: t0,
			}
			got, err := Plan(in, nil)
			if err != nil {
				t.Fatalf("Plan failed for the whole group: %v", err)
			}
			d := got.Variants[1]
			if !d.Excluded || !errors.Is(d.Err, ErrInvalidInput) || !containsText(d.Err, tc.wantErr) || !containsText(d.Err, `"bad"`) {
				t.Errorf("bad variant: %+v, want Excluded with an error naming it and containing %q", d, tc.wantErr)
			}
			// The rest is planned exactly as without the bad variant.
			alone := in
			alone.Variants = []Variant{in.Variants[0], in.Variants[2]}
			want := mustPlan(t, alone)
			if diff := cmp.Diff(decisions(want), decisions(Result{Variants: []Decision{got.Variants[0], got.Variants[2]}})); diff != "" {
				t.Errorf("the rest of the group (-alone +with the bad variant):\n%s", diff)
			}
			if got.Variants[0].Excluded || got.Variants[2].Excluded {
				t.Errorf("good variants excluded: %+v", got.Variants)
			}
		})
	}
}

func containsText(err error, s string) bool {
	return err != nil && (s == "" || len(err.Error()) >= len(s) && stringContains(err.Error(), s))
}

func stringContains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A group above MaxVariants is planned, every variant gets a decision, the
// load is carried, and the plan costs no less than the stated lower bound.
func TestPlanHeuristicForLargeGroups(t *testing.T) {
	for _, n := range []int{MaxVariants + 1, 3 * MaxVariants} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			in := Input{SLO: looseSLO, Load: loadOf(300), Now: t0}
			for i := range n {
				// Costs per capacity spread so that the best are not the first by name.
				in.Variants = append(in.Variants, variantWith(fmt.Sprintf("v%03d", i), float64(10+(i*37)%101), 1+float64(i%7), 0, 10, 1))
			}
			r := mustPlan(t, in)
			if !r.Heuristic {
				t.Fatalf("Heuristic not set for %d variants", n)
			}
			carried := 0.0
			for _, d := range r.Variants {
				carried += d.Capacity * float64(d.Replicas)
			}
			if carried < in.Load.Rate*(1-1e-9) {
				t.Errorf("carries %v req/s of %v", carried, in.Load.Rate)
			}
			if r.CostBound <= 0 || r.TotalCost() < r.CostBound*(1-1e-9) {
				t.Errorf("cost %v below its lower bound %v", r.TotalCost(), r.CostBound)
			}
			// The heuristic picks the cheapest capacity: within one replica of the
			// dearest chosen variant per the bound on this instance.
			if gap := r.TotalCost() - r.CostBound; gap > 110 {
				t.Errorf("cost %v is %v above the bound %v", r.TotalCost(), gap, r.CostBound)
			}
		})
	}
	// At MaxVariants the exact optimizer runs.
	in := Input{SLO: looseSLO, Load: loadOf(30), Now: t0}
	for i := range MaxVariants {
		in.Variants = append(in.Variants, variantWith(fmt.Sprintf("v%03d", i), float64(10+i), 1, 0, 10, 0))
	}
	if r := mustPlan(t, in); r.Heuristic {
		t.Errorf("Heuristic set for %d variants", MaxVariants)
	}
}

func TestLimitScaleUp(t *testing.T) {
	p := ScaleUpPolicy{MaxReplicas: 4, MaxPercent: 100, Period: time.Minute}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := map[string]struct {
		hist      []Recommendation
		now       time.Time
		current   int
		p         ScaleUpPolicy
		wantLimit int
		wantHist  []Recommendation
		wantUntil time.Time
	}{
		"fresh, small: by replicas": {now: at(0), current: 1, p: p, wantLimit: 5, wantHist: []Recommendation{{at(0), 1}}, wantUntil: at(60)},
		"fresh, large: by percent":  {now: at(0), current: 10, p: p, wantLimit: 20, wantHist: []Recommendation{{at(0), 10}}, wantUntil: at(60)},
		"from zero":                 {now: at(0), current: 0, p: p, wantLimit: 4, wantHist: []Recommendation{{at(0), 0}}, wantUntil: at(60)},
		"the period's minimum counts": {
			hist: []Recommendation{{at(0), 1}}, now: at(30), current: 5, p: p,
			wantLimit: 5, wantHist: []Recommendation{{at(0), 1}, {at(30), 5}}, wantUntil: at(60),
		},
		"an expired minimum no longer counts": {
			hist: []Recommendation{{at(0), 1}, {at(30), 5}}, now: at(61), current: 5, p: p,
			wantLimit: 10, wantHist: []Recommendation{{at(61), 5}}, wantUntil: at(121),
		},
		"a lower count replaces higher ones": {
			hist: []Recommendation{{at(0), 3}, {at(10), 6}}, now: at(20), current: 2, p: p,
			wantLimit: 6, wantHist: []Recommendation{{at(20), 2}}, wantUntil: at(80),
		},
		"disabled": {now: at(0), current: 1, p: ScaleUpPolicy{}, wantLimit: MaxReplicas},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			limit, hist, until := limitScaleUp(tc.hist, tc.p, tc.now, tc.current)
			if limit != tc.wantLimit || !until.Equal(tc.wantUntil) {
				t.Errorf("limit %d until %v, want %d until %v", limit, until, tc.wantLimit, tc.wantUntil)
			}
			if diff := cmp.Diff(tc.wantHist, hist); diff != "" {
				t.Errorf("history (-want +got):\n%s", diff)
			}
		})
	}
}

// A load a thousand times too high (a counter glitch) scales a variant by
// the scale-up limit per period, never to the optimum at once, and never
// above the ceiling.
func TestPlanBoundsActions(t *testing.T) {
	pol := Policy{MaxReplicasPerVariant: 50, ScaleUp: ScaleUpPolicy{MaxReplicas: 4, MaxPercent: 100, Period: time.Minute}}
	in := Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1)}, SLO: looseSLO, Load: loadOf(1e6), Policy: pol, Now: t0}
	r := mustPlan(t, in)
	if diff := cmp.Diff(map[string]want{"a": {5, ReasonScaleUpLimited}}, decisions(r)); diff != "" {
		t.Fatalf("first step (-want +got):\n%s", diff)
	}
	if !r.NextEvaluation.Equal(t0.Add(time.Minute)) {
		t.Errorf("NextEvaluation %v, want when the period ends", r.NextEvaluation)
	}
	// Within the period, with the workload at 5: no further growth.
	in.State, in.Now, in.Variants[0].Current = r.State, t0.Add(30*time.Second), 5
	r = mustPlan(t, in)
	if got := r.Variants[0].Replicas; got != 5 {
		t.Errorf("within the period: %d replicas, want 5", got)
	}
	// Period after period it doubles, up to the ceiling.
	steps := []int{}
	for k := 1; k <= 6; k++ {
		in.State, in.Now, in.Variants[0].Current = r.State, t0.Add(time.Duration(k)*61*time.Second), r.Variants[0].Replicas
		r = mustPlan(t, in)
		steps = append(steps, r.Variants[0].Replicas)
	}
	if diff := cmp.Diff([]int{10, 20, 40, 50, 50, 50}, steps); diff != "" {
		t.Errorf("growth per period (-want +got):\n%s", diff)
	}
	if r.Variants[0].Reason != ReasonCeiling && r.Variants[0].Reason != ReasonCapacityLimited {
		t.Errorf("at the ceiling the reason is %s", r.Variants[0].Reason)
	}
	// spec.maxReplicas below the ceiling is the variant's own bound.
	in.Variants[0].Max = 20
	r = mustPlan(t, in)
	if got := r.Variants[0]; got.Replicas != 20 || got.Reason == ReasonCeiling {
		t.Errorf("with maxReplicas 20: %+v", got)
	}
}

func TestPlanHoldsImplausibleJumps(t *testing.T) {
	pol := Policy{LoadJump: LoadJumpPolicy{Factor: 10, Confirmation: 2 * time.Minute}}
	in := Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 3)}, SLO: looseSLO, Load: loadOf(2.5), Policy: pol, Now: t0}
	r := mustPlan(t, in) // first reading: the baseline
	if r.Outcome != OutcomeSucceeded || !r.State.RateKnown || r.State.Rate != 2.5 {
		t.Fatalf("baseline: %+v", r)
	}
	step := func(at time.Duration, rate float64) Result {
		in.State, in.Now, in.Load = r.State, t0.Add(at), loadOf(rate)
		r = mustPlan(t, in)
		return r
	}
	// A glitch: 1000× the rate.
	if got := step(time.Minute, 2500); got.Outcome != OutcomeMetricsStale || got.Variants[0].Replicas != 3 ||
		got.Variants[0].Reason != ReasonMetricsImplausible || !got.NextEvaluation.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("glitch not held: %+v", got)
	}
	// Back to normal: accepted, the jump forgotten.
	if got := step(2*time.Minute, 3); got.Outcome != OutcomeSucceeded || !got.State.JumpSince.IsZero() {
		t.Fatalf("normal reading after a glitch: %+v", got)
	}
	// A real surge persists: held for the confirmation, then believed.
	if got := step(3*time.Minute, 300); got.Outcome != OutcomeMetricsStale {
		t.Fatalf("surge not held at first: %+v", got.Outcome)
	}
	if got := step(4*time.Minute, 310); got.Outcome != OutcomeMetricsStale {
		t.Fatalf("surge not held within the confirmation: %+v", got.Outcome)
	}
	if got := step(5*time.Minute, 320); got.Outcome != OutcomeSucceeded || got.Variants[0].Replicas <= 3 || got.State.Rate != 320 {
		t.Fatalf("confirmed surge not believed: %+v", got)
	}
	// Below MinJumpRate nothing is implausible: waking from idle.
	in.State = State{Rate: 0, RateKnown: true}
	in.Load, in.Now = loadOf(9.9), t0.Add(time.Hour)
	if got := mustPlan(t, in); got.Outcome != OutcomeSucceeded {
		t.Errorf("idle to 9.9 req/s held: %v", got.Outcome)
	}
}
