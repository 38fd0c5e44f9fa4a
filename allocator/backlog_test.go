package allocator

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWithBacklog(t *testing.T) {
	waiting := func(n float64) Load { l := loadOf(3); l.Waiting = n; return l }
	tests := map[string]struct {
		load     Load
		drain    time.Duration
		wantRate float64
	}{
		"no queue":               {load: waiting(0), drain: 2 * time.Minute, wantRate: 3},
		"queue drained in 2m":    {load: waiting(600), drain: 2 * time.Minute, wantRate: 3 + 5},
		"queue drained in 30s":   {load: waiting(600), drain: 30 * time.Second, wantRate: 3 + 20},
		"off":                    {load: waiting(600), drain: 0, wantRate: 3},
		"load unknown":           {load: Load{Waiting: 600}, drain: 2 * time.Minute, wantRate: 0},
		"request shape unknown":  {load: Load{Available: true, Waiting: 600}, drain: 2 * time.Minute, wantRate: 0},
		"idle with a queue":      {load: Load{Available: true, AvgOut: 2, Waiting: 60}, drain: time.Minute, wantRate: 1},
		"infinite queue ignored": {load: waiting(math.Inf(1)), drain: time.Minute, wantRate: 3},
		"NaN queue ignored":      {load: waiting(math.NaN()), drain: time.Minute, wantRate: 3},
		"huge queue capped":      {load: waiting(1e300), drain: time.Minute, wantRate: MaxRateLimit},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := withBacklog(tc.load, tc.drain)
			if diff := cmp.Diff(tc.wantRate, got.Rate); diff != "" {
				t.Errorf("rate (-want +got):\n%s", diff)
			}
			got.Rate = tc.load.Rate
			if got.Available != tc.load.Available || got.AvgOut != tc.load.AvgOut {
				t.Errorf("withBacklog changed more than the rate: %+v from %+v", got, tc.load)
			}
		})
	}
}

// A queue is sized for on top of the arrivals, and it never trips the guard
// against implausible rate jumps: the guard judges the measured rate.
func TestPlanDrainsTheBacklog(t *testing.T) {
	pol := Policy{BacklogDrain: 2 * time.Minute, LoadJump: LoadJumpPolicy{Factor: 2, Confirmation: time.Minute}}
	in := Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 3)}, SLO: looseSLO, Load: loadOf(2.5), Policy: pol, Now: t0}
	first := mustPlan(t, in)
	if diff := cmp.Diff(map[string]want{"a": {3, ReasonOptimal}}, decisions(first)); diff != "" {
		t.Fatalf("without a queue (-want +got):\n%s", diff)
	}

	in.State, in.Now = first.State, t0.Add(time.Minute)
	in.Load.Waiting = 1200 // 10 req/s to drain it within 2 minutes
	got := mustPlan(t, in)
	// ceil(2.5 + 10) = 13
	if diff := cmp.Diff(map[string]want{"a": {13, ReasonLoadChange}}, decisions(got)); diff != "" {
		t.Errorf("with 1200 waiting (-want +got):\n%s", diff)
	}
	if got.State.Rate != 2.5 {
		t.Errorf("the jump guard remembers %v req/s, want the measured 2.5", got.State.Rate)
	}

	in.Policy.BacklogDrain = 0
	if diff := cmp.Diff(map[string]want{"a": {3, ReasonOptimal}}, decisions(mustPlan(t, in))); diff != "" {
		t.Errorf("with the drain off (-want +got):\n%s", diff)
	}
}

// FuzzPlanBacklog: whatever the queue reading, Plan plans the group, stays
// within the scale-up limit, never asks for less than without the queue,
// and a longer queue never asks for less than a shorter one.
func FuzzPlanBacklog(f *testing.F) {
	f.Add(3.0, 600.0, 120)
	f.Add(0.0, math.Inf(1), 1)
	f.Add(1.0, math.NaN(), 60)
	f.Add(1e9, 1e300, 3600)
	f.Add(2.0, -5.0, 30)
	f.Fuzz(func(t *testing.T, rate, waiting float64, drainSeconds int) {
		if !(rate >= 0 && rate <= 1e9) || drainSeconds < 0 || drainSeconds > 3600 {
			return
		}
		up := ScaleUpPolicy{MaxReplicas: 4, MaxPercent: 100, Period: time.Minute}
		pol := Policy{BacklogDrain: time.Duration(drainSeconds) * time.Second, ScaleUp: up}
		plan := func(w float64) int {
			in := Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 2)}, SLO: looseSLO, Load: loadOf(rate), Policy: pol, Now: t0}
			in.Load.Waiting = w
			r, err := Plan(in, nil)
			if err != nil {
				t.Fatalf("rate %v, waiting %v, drain %ds: %v", rate, w, drainSeconds, err)
			}
			return r.Variants[0].Replicas
		}
		got, without := plan(waiting), plan(0)
		if limit, _, _ := limitScaleUp(nil, up, t0, 2); got > limit {
			t.Errorf("%d replicas beyond the scale-up limit %d", got, limit)
		}
		if got < without {
			t.Errorf("waiting %v: %d replicas, fewer than the %d without a queue", waiting, got, without)
		}
		if waiting > 0 && !math.IsInf(waiting, 0) {
			if longer := plan(2 * waiting); longer < got {
				t.Errorf("waiting %v: %d replicas, fewer than the %d for %v", 2*waiting, longer, got, waiting)
			}
		}
	})
}
