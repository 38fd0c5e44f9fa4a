package allocator

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// looseSLO is met up to the 0.9·μ(N) cap by the profiles of variantWith.
var looseSLO = SLO{TTFT: 1e7, ITL: 1e7}

// variantWith returns a variant whose capacity under looseSLO with
// one-output-token-after-the-first requests (AvgIn 0, AvgOut 2) is capacity:
// N = 1 and S = alpha, so 0.9·μ = 0.9·1000/alpha req/s.
func variantWith(name string, cost, capacity float64, lo, hi, current int) Variant {
	return Variant{
		Name: name, Cost: cost, Min: lo, Max: hi, Current: current,
		Profile: Profile{MaxBatchSize: 1, Alpha: 900 / capacity},
	}
}

func loadOf(rate float64) Load { return Load{Available: true, Rate: rate, AvgIn: 0, AvgOut: 2} }

func ptr(x float64) *float64 { return &x }

type want struct {
	Replicas int
	Reason   Reason
}

func decisions(r Result) map[string]want {
	m := make(map[string]want, len(r.Variants))
	for _, d := range r.Variants {
		m[d.Name] = want{d.Replicas, d.Reason}
	}
	return m
}

func mustPlan(t *testing.T, in Input) Result {
	t.Helper()
	r, err := Plan(in, nil)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	checkInvariants(t, in, r)
	return r
}

// checkInvariants holds for every plan: bounds, one decision per variant in
// order, no NaN or Inf, shares adding up to the load.
func checkInvariants(t *testing.T, in Input, r Result) {
	t.Helper()
	if len(r.Variants) != len(in.Variants) {
		t.Fatalf("%d decisions for %d variants", len(r.Variants), len(in.Variants))
	}
	share := 0.0
	for i, d := range r.Variants {
		v := in.Variants[i]
		if d.Name != v.Name {
			t.Errorf("decision %d is for %q, want %q", i, d.Name, v.Name)
		}
		if d.Replicas < v.Min || (v.Max >= 0 && d.Replicas > v.Max) {
			t.Errorf("%s: %d replicas outside [%d, %d]", v.Name, d.Replicas, v.Min, v.Max)
		}
		if d.Reason == "" {
			t.Errorf("%s: no reason", v.Name)
		}
		for _, x := range []float64{d.Capacity, d.LoadShare, d.TTFT, d.ITL, d.Cost, d.Utilisation} {
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				t.Errorf("%s: bad number in %+v", v.Name, d)
			}
		}
		share += d.LoadShare
	}
	demand := withBacklog(in.Load, in.Policy.BacklogDrain).Rate
	if in.Load.Available && r.Outcome != OutcomeMetricsStale && r.TotalReplicas() > 0 && !near(share, demand, 1e-9) {
		t.Errorf("shares add up to %v, demand is %v", share, demand)
	}
}

func TestPlanRules(t *testing.T) {
	window := 5 * time.Minute
	stab := Policy{StabilizationWindow: window}
	tests := map[string]struct {
		in       Input
		want     map[string]want
		outcome  Outcome
		nextEval time.Time
	}{
		"load change scales up at once": {
			in: Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1)}, Load: loadOf(2.5), Policy: stab},
			// ceil(2.5/1) = 3
			want:    map[string]want{"a": {3, ReasonLoadChange}},
			outcome: OutcomeSucceeded,
		},
		"optimal when nothing changes": {
			in:      Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 3)}, Load: loadOf(2.5), Policy: stab},
			want:    map[string]want{"a": {3, ReasonOptimal}},
			outcome: OutcomeSucceeded,
		},
		"cheapest mix splits the load": {
			// b costs 15 for 2 req/s (7.5 per req/s), a 10 for 1: 5 req/s is
			// best as b=2, a=1 (40) rather than b=3 (45).
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 0),
				variantWith("b", 15, 2, 0, Unbounded, 0),
			}, Load: loadOf(5)},
			want:    map[string]want{"a": {1, ReasonLoadChange}, "b": {2, ReasonLoadChange}},
			outcome: OutcomeSucceeded,
		},
		"metrics missing holds current within bounds": {
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, 3, 5),
				variantWith("b", 10, 1, 2, 4, 0),
				variantWith("c", 10, 1, 0, 4, 2),
			}, Load: Load{Available: false}, Policy: stab},
			want:    map[string]want{"a": {3, ReasonMetricsMissing}, "b": {2, ReasonMetricsMissing}, "c": {2, ReasonMetricsMissing}},
			outcome: OutcomeMetricsMissing,
		},
		"scale to zero when no request in retention": {
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 4),
				variantWith("b", 10, 1, 1, Unbounded, 2),
			}, Load: Load{Available: true, Rate: 0, AvgIn: 0, AvgOut: 2, RequestsInRetention: ptr(0)},
				Policy: Policy{ScaleToZero: true, Retention: 10 * time.Minute, StabilizationWindow: window}},
			// Not held by the stabilization window.
			want:    map[string]want{"a": {0, ReasonScaleToZero}, "b": {1, ReasonScaleToZero}},
			outcome: OutcomeSucceeded,
		},
		"scale to zero by the clock since the last activity": {
			in: Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1)},
				Load:   loadOf(0),
				Policy: Policy{ScaleToZero: true, Retention: 10 * time.Minute},
				State:  State{LastActive: t0.Add(-10 * time.Minute)}},
			want:    map[string]want{"a": {0, ReasonScaleToZero}},
			outcome: OutcomeSucceeded,
		},
		"retention not over keeps the cheapest and requeues at its end": {
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 1),
				variantWith("b", 8, 1, 0, Unbounded, 0),
			}, Load: loadOf(0),
				Policy: Policy{ScaleToZero: true, Retention: 10 * time.Minute},
				State:  State{LastActive: t0.Add(-4 * time.Minute)}},
			want:     map[string]want{"a": {0, ReasonLoadChange}, "b": {1, ReasonKeepCheapest}},
			outcome:  OutcomeSucceeded,
			nextEval: t0.Add(6 * time.Minute),
		},
		"keep cheapest: ties by name, skipping max 0, preferring feasible": {
			in: Input{Variants: []Variant{
				variantWith("d", 5, 1, 0, Unbounded, 0),
				variantWith("c", 5, 1, 0, Unbounded, 0),
				variantWith("a", 1, 1, 0, 0, 0),
				{Name: "b", Cost: 2, Max: Unbounded, Profile: Profile{MaxBatchSize: 1, Alpha: 1e8}},
			}, Load: loadOf(0)},
			want: map[string]want{
				"a": {0, ReasonOptimal}, "b": {0, ReasonInfeasible},
				"c": {1, ReasonKeepCheapest}, "d": {0, ReasonOptimal},
			},
			outcome: OutcomeSucceeded,
		},
		"stabilization holds a scale-down after a restart": {
			in:       Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 5)}, Load: loadOf(2), Policy: stab},
			want:     map[string]want{"a": {5, ReasonStabilized}},
			outcome:  OutcomeSucceeded,
			nextEval: t0.Add(window),
		},
		"stabilization holds the highest recommendation in the window": {
			in: Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 5)}, Load: loadOf(2), Policy: stab,
				State: State{Recommendations: map[string][]Recommendation{"a": {
					{Time: t0.Add(-6 * time.Minute), Replicas: 5}, // expired
					{Time: t0.Add(-2 * time.Minute), Replicas: 4},
					{Time: t0.Add(-1 * time.Minute), Replicas: 3},
				}}}},
			want:     map[string]want{"a": {4, ReasonStabilized}},
			outcome:  OutcomeSucceeded,
			nextEval: t0.Add(3 * time.Minute),
		},
		"stabilization window over scales down": {
			in: Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 5)}, Load: loadOf(2), Policy: stab,
				State: State{Recommendations: map[string][]Recommendation{"a": {{Time: t0.Add(-window), Replicas: 5}}}}},
			want:    map[string]want{"a": {2, ReasonLoadChange}},
			outcome: OutcomeSucceeded,
		},
		"cost hysteresis keeps the mix when the saving is small": {
			// Free optimum for 2.5 req/s: a=1, b=1 (29). Without growth:
			// a=3 (30). Saving 1/30 < 10%.
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 3),
				variantWith("b", 19, 2, 0, Unbounded, 0),
			}, Load: loadOf(2.5), Policy: Policy{CostSavingThreshold: 0.1}},
			want:    map[string]want{"a": {3, ReasonCostHysteresis}, "b": {0, ReasonCostHysteresis}},
			outcome: OutcomeSucceeded,
		},
		"cost hysteresis lets a large saving through": {
			// Free optimum for 4 req/s: b=2 (24) against a=4 (40).
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 4),
				variantWith("b", 12, 2, 0, Unbounded, 0),
			}, Load: loadOf(4), Policy: Policy{CostSavingThreshold: 0.1}},
			want:    map[string]want{"a": {0, ReasonLoadChange}, "b": {2, ReasonLoadChange}},
			outcome: OutcomeSucceeded,
		},
		"capacity limited puts everything at max": {
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, 2, 1),
				variantWith("b", 15, 2, 1, 3, 1),
				{Name: "x", Cost: 1, Min: 1, Max: 9, Profile: Profile{MaxBatchSize: 1, Alpha: 1e8}},
			}, Load: loadOf(100)},
			want:    map[string]want{"a": {2, ReasonCapacityLimited}, "b": {3, ReasonCapacityLimited}, "x": {1, ReasonInfeasible}},
			outcome: OutcomeCapacityLimited,
		},
		"bounds: the minimum holds a replica the load does not need": {
			in: Input{Variants: []Variant{
				variantWith("a", 10, 1, 0, Unbounded, 0),
				variantWith("b", 30, 1, 2, Unbounded, 2),
			}, Load: loadOf(2.5)},
			want:    map[string]want{"a": {1, ReasonLoadChange}, "b": {2, ReasonBounds}},
			outcome: OutcomeSucceeded,
		},
		"bounds: a held value above the maximum is clamped": {
			in:      Input{Variants: []Variant{variantWith("a", 10, 1, 0, 4, 8)}, Load: loadOf(2), Policy: stab},
			want:    map[string]want{"a": {4, ReasonBounds}},
			outcome: OutcomeSucceeded,
			// The hold would have lasted the window.
			nextEval: t0.Add(window),
		},
		"infeasible for everyone keeps one replica and says so": {
			in: Input{Variants: []Variant{
				{Name: "a", Cost: 3, Max: Unbounded, Profile: Profile{MaxBatchSize: 1, Alpha: 1e8}},
				{Name: "b", Cost: 2, Max: Unbounded, Profile: Profile{MaxBatchSize: 1, Alpha: 1e8}},
			}, Load: loadOf(1)},
			want:    map[string]want{"a": {0, ReasonInfeasible}, "b": {1, ReasonKeepCheapest}},
			outcome: OutcomeInfeasible,
		},
		"zero-cost variant carries load first": {
			in: Input{Variants: []Variant{
				variantWith("free", 0, 1, 0, 2, 0),
				variantWith("paid", 10, 1, 0, Unbounded, 0),
			}, Load: loadOf(3)},
			want:    map[string]want{"free": {2, ReasonLoadChange}, "paid": {1, ReasonLoadChange}},
			outcome: OutcomeSucceeded,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			tc.in.Now = t0
			tc.in.SLO = looseSLO
			r := mustPlan(t, tc.in)
			if diff := cmp.Diff(tc.want, decisions(r)); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if r.Outcome != tc.outcome {
				t.Errorf("outcome = %s, want %s", r.Outcome, tc.outcome)
			}
			if !r.NextEvaluation.Equal(tc.nextEval) {
				t.Errorf("next evaluation = %v, want %v", r.NextEvaluation, tc.nextEval)
			}
		})
	}
}

// A scale-down held by the window goes through when the next evaluation
// comes, with the state of the previous plan and an advanced clock.
func TestPlanStabilizationOverTime(t *testing.T) {
	in := Input{
		Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 6)},
		SLO:      looseSLO, Load: loadOf(4), Policy: DefaultPolicy(), Now: t0,
	}
	state := State{}
	current := 6
	for _, st := range []struct {
		at       time.Duration
		rate     float64
		want     want
		nextEval time.Duration
	}{
		// No history: seeded with the current 6 at t0, held until t0+5m.
		{0, 4, want{6, ReasonStabilized}, 5 * time.Minute},
		{2 * time.Minute, 3, want{6, ReasonStabilized}, 5 * time.Minute},
		// The entries of t0 expired; 3 recommended at 2m holds until 7m.
		{5 * time.Minute, 2, want{3, ReasonStabilized}, 7 * time.Minute},
		{7 * time.Minute, 2, want{2, ReasonLoadChange}, 0},
		// Up at once.
		{8 * time.Minute, 5, want{5, ReasonLoadChange}, 0},
	} {
		in.Now = t0.Add(st.at)
		in.Load = loadOf(st.rate)
		in.State = state
		in.Variants[0].Current = current
		r := mustPlan(t, in)
		if diff := cmp.Diff(map[string]want{"a": st.want}, decisions(r)); diff != "" {
			t.Errorf("at %v (-want +got):\n%s", st.at, diff)
		}
		wantNext := time.Time{}
		if st.nextEval > 0 {
			wantNext = t0.Add(st.nextEval)
		}
		if !r.NextEvaluation.Equal(wantNext) {
			t.Errorf("at %v: next evaluation %v, want %v", st.at, r.NextEvaluation, wantNext)
		}
		state, current = r.State, r.Variants[0].Replicas
	}
}

func TestPlanScaleToZeroClock(t *testing.T) {
	pol := Policy{ScaleToZero: true, Retention: 10 * time.Minute}
	in := Input{
		Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1)},
		SLO:      looseSLO, Load: loadOf(0), Policy: pol, Now: t0,
	}
	// No activity known and no request count: the clock starts now.
	r := mustPlan(t, in)
	if !r.State.LastActive.Equal(t0) || !r.NextEvaluation.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("clock: last active %v, next %v", r.State.LastActive, r.NextEvaluation)
	}
	if got := decisions(r)["a"]; got != (want{1, ReasonKeepCheapest}) {
		t.Fatalf("before retention: %+v", got)
	}
	// Requests counted in the window say the group is active.
	in.State, in.Now = r.State, t0.Add(11*time.Minute)
	in.Load.RequestsInRetention = ptr(3)
	r = mustPlan(t, in)
	if !r.State.LastActive.Equal(in.Now) || decisions(r)["a"].Reason == ReasonScaleToZero {
		t.Fatalf("active by count: %+v, last active %v", decisions(r), r.State.LastActive)
	}
	// Without the count, the clock since that activity decides.
	in.State, in.Now, in.Load.RequestsInRetention = r.State, t0.Add(21*time.Minute), nil
	r = mustPlan(t, in)
	if got := decisions(r)["a"]; got != (want{0, ReasonScaleToZero}) || !r.NextEvaluation.IsZero() {
		t.Fatalf("after retention: %+v, next %v", got, r.NextEvaluation)
	}
	// Traffic comes back: up at once.
	in.State, in.Now, in.Load = r.State, t0.Add(22*time.Minute), loadOf(2)
	in.Variants[0].Current = 0
	r = mustPlan(t, in)
	if got := decisions(r)["a"]; got != (want{2, ReasonLoadChange}) || !r.State.LastActive.Equal(in.Now) {
		t.Fatalf("traffic back: %+v", got)
	}
}

func TestPlanInfeasibleVariantReportsWhy(t *testing.T) {
	in := Input{
		Variants: []Variant{
			{Name: "slow", Cost: 1, Max: Unbounded, Profile: Profile{MaxBatchSize: 8, Alpha: 80}},
			{Name: "fast", Cost: 5, Max: Unbounded, Profile: h100},
		},
		SLO:  SLO{TTFT: 1000, ITL: 50},
		Load: Load{Available: true, Rate: 2, AvgIn: 500, AvgOut: 100},
		Now:  t0,
	}
	r := mustPlan(t, in)
	slow, fast := r.Variants[0], r.Variants[1]
	var inf *ErrInfeasible
	if !errors.As(slow.Err, &inf) || inf.Metric != MetricITL || inf.Achievable != 80 || inf.Target != 50 {
		t.Fatalf("slow: err %v", slow.Err)
	}
	if slow.Reason != ReasonInfeasible || slow.Replicas != 0 || slow.Capacity != 0 {
		t.Errorf("slow: %+v", slow)
	}
	if fast.Err != nil || fast.Replicas < 1 || fast.TTFT > 1000 || fast.ITL > 50 || fast.Utilisation > 1 {
		t.Errorf("fast: %+v", fast)
	}
	if r.Outcome != OutcomeSucceeded {
		t.Errorf("outcome %s", r.Outcome)
	}
}

func TestPlanInvalidProfileIsPerVariant(t *testing.T) {
	in := Input{
		Variants: []Variant{
			{Name: "bad", Cost: 1, Max: Unbounded, Profile: Profile{MaxBatchSize: 0, Alpha: 1}},
			{Name: "good", Cost: 5, Max: Unbounded, Profile: h100},
		},
		SLO: SLO{TTFT: 1000, ITL: 50}, Load: Load{Available: true, Rate: 2, AvgIn: 500, AvgOut: 100}, Now: t0,
	}
	r := mustPlan(t, in)
	if !errors.Is(r.Variants[0].Err, ErrInvalidInput) || r.Variants[0].Reason != ReasonInfeasible {
		t.Errorf("bad: %+v", r.Variants[0])
	}
	if r.Variants[1].Replicas < 1 {
		t.Errorf("good: %+v", r.Variants[1])
	}
}

func TestPlanRejectsInvalidInput(t *testing.T) {
	ok := func() Input {
		return Input{Variants: []Variant{variantWith("a", 1, 1, 0, Unbounded, 0)}, SLO: looseSLO, Load: loadOf(1), Now: t0}
	}
	tests := map[string]func(*Input){
		"no clock":            func(in *Input) { in.Now = time.Time{} },
		"empty name":          func(in *Input) { in.Variants[0].Name = "" },
		"duplicate name":      func(in *Input) { in.Variants = append(in.Variants, in.Variants[0]) },
		"zero TTFT":           func(in *Input) { in.SLO.TTFT = 0 },
		"negative rate":       func(in *Input) { in.Load.Rate = -1 },
		"NaN rate":            func(in *Input) { in.Load.Rate = math.NaN() },
		"rate without tokens": func(in *Input) { in.Load.AvgOut = 0 },
		"negative requests":   func(in *Input) { in.Load.RequestsInRetention = ptr(-1) },
		"negative window":     func(in *Input) { in.Policy.StabilizationWindow = -time.Second },
		"negative retention":  func(in *Input) { in.Policy.Retention = -time.Second },
		"threshold above one": func(in *Input) { in.Policy.CostSavingThreshold = 2 },
		"negative ceiling":    func(in *Input) { in.Policy.MaxReplicasPerVariant = -1 },
		"negative drain time": func(in *Input) { in.Policy.BacklogDrain = -time.Second },
		"jump factor of one":  func(in *Input) { in.Policy.LoadJump.Factor = 1 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			in := ok()
			mutate(&in)
			if _, err := Plan(in, nil); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error = %v, want ErrInvalidInput", err)
			}
		})
	}
	if _, err := Plan(ok(), nil); err != nil {
		t.Fatalf("valid input refused: %v", err)
	}
}

// Rate 0 with unknown token averages (nothing to average over) is planned:
// capacities are unknown, but the policy still applies.
func TestPlanIdleWithoutTokens(t *testing.T) {
	in := Input{
		Variants: []Variant{variantWith("a", 1, 1, 0, Unbounded, 3)},
		SLO:      looseSLO, Load: Load{Available: true, Rate: 0, AvgIn: math.NaN(), AvgOut: 0}, Now: t0,
	}
	r := mustPlan(t, in)
	if got := decisions(r)["a"]; got != (want{1, ReasonKeepCheapest}) || r.Variants[0].Capacity != 0 {
		t.Errorf("got %+v", r.Variants[0])
	}
}

func TestPlanStateIsNotShared(t *testing.T) {
	hist := map[string][]Recommendation{
		"a":    {{Time: t0.Add(-time.Minute), Replicas: 7}},
		"gone": {{Time: t0.Add(-time.Minute), Replicas: 2}},
	}
	in := Input{
		Variants: []Variant{variantWith("a", 1, 1, 0, Unbounded, 7)},
		SLO:      looseSLO, Load: loadOf(1), Policy: DefaultPolicy(), Now: t0,
		State: State{Recommendations: hist},
	}
	r := mustPlan(t, in)
	if _, ok := r.State.Recommendations["gone"]; ok {
		t.Error("history of a removed variant kept")
	}
	r.State.Recommendations["a"][0].Replicas = 99
	if hist["a"][0].Replicas != 7 || len(hist["a"]) != 1 {
		t.Errorf("input state modified: %+v", hist)
	}
	again := mustPlan(t, in)
	if diff := cmp.Diff(decisions(again), map[string]want{"a": {7, ReasonStabilized}}); diff != "" {
		t.Errorf("second plan (-got +want):\n%s", diff)
	}
}

func TestPlanPredictionsAtTheShare(t *testing.T) {
	in := Input{
		Variants: []Variant{
			{Name: "h100", Cost: 100, Max: Unbounded, Profile: h100},
			{Name: "l40s", Cost: 40, Max: Unbounded, Profile: Profile{MaxBatchSize: 64, Alpha: 20, Beta: 0.6, Gamma: 40, Delta: 0.06}},
		},
		SLO: SLO{TTFT: 1000, ITL: 60}, Load: Load{Available: true, Rate: 30, AvgIn: 1000, AvgOut: 200}, Now: t0,
	}
	r := mustPlan(t, in)
	for i, d := range r.Variants {
		if d.Replicas == 0 {
			continue
		}
		m := mustModel(t, in.Variants[i].Profile, 1000, 200)
		p := mustPredict(t, m, d.LoadShare/float64(d.Replicas))
		if d.TTFT != p.TTFT || d.ITL != p.ITL {
			t.Errorf("%s: TTFT %v ITL %v, model at share per replica %v %v", d.Name, d.TTFT, d.ITL, p.TTFT, p.ITL)
		}
		if d.TTFT > in.SLO.TTFT || d.ITL > in.SLO.ITL || d.Utilisation > 1 {
			t.Errorf("%s: SLO missed within capacity: %+v", d.Name, d)
		}
		if !near(d.Utilisation, d.LoadShare/(d.Capacity*float64(d.Replicas)), 1e-12) || d.Cost != in.Variants[i].Cost*float64(d.Replicas) {
			t.Errorf("%s: utilisation or cost inconsistent: %+v", d.Name, d)
		}
	}
	if r.TotalCost() <= 0 || r.TotalReplicas() <= 0 {
		t.Errorf("totals %v %v", r.TotalCost(), r.TotalReplicas())
	}
	// The same input plans the same, cached or not.
	cache := NewCapacityCache(0)
	for range 2 {
		again, err := Plan(in, cache)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, again, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
			t.Errorf("re-plan differs (-first +again):\n%s", diff)
		}
	}
	if h, m := cache.Stats(); h != 2 || m != 2 {
		t.Errorf("cache stats %d hits %d misses, want 2 2", h, m)
	}
}
