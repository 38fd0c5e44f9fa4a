package allocator

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPlanAroundZero(t *testing.T) {
	const retention = 10 * time.Minute
	on := Policy{ScaleToZero: true, Retention: retention}
	two := func(currentA, currentB int) []Variant {
		return []Variant{variantWith("a", 10, 1, 0, Unbounded, currentA), variantWith("b", 4, 1, 0, Unbounded, currentB)}
	}
	idleLoad := func(since time.Time) Load {
		return Load{Available: true, AvgOut: 2, RequestsInRetention: ptr(0), DataSince: since}
	}
	cases := map[string]struct {
		in       Input
		want     map[string]want
		nextEval time.Time
		leftZero time.Time
	}{
		"no metrics at zero, scale to zero off: the cheapest gets one": {
			in:       Input{Variants: two(0, 0), Load: Load{}, Policy: Policy{}},
			want:     map[string]want{"a": {0, ReasonMetricsMissing}, "b": {1, ReasonKeepCheapest}},
			leftZero: t0,
		},
		"no metrics at zero, scale to zero on, nothing waits: stays at zero": {
			in:   Input{Variants: two(0, 0), Load: Load{}, Policy: on},
			want: map[string]want{"a": {0, ReasonMetricsMissing}, "b": {0, ReasonMetricsMissing}},
		},
		"no metrics at zero, requests wait at the gateway: the cheapest wakes": {
			in:       Input{Variants: two(0, 0), Load: Load{Waiting: 3}, Policy: on},
			want:     map[string]want{"a": {0, ReasonMetricsMissing}, "b": {1, ReasonScaleFromZero}},
			leftZero: t0,
		},
		"no metrics at zero, requests arrive at the gateway: the cheapest wakes": {
			in:       Input{Variants: two(0, 0), Load: Load{Rate: 0.2}, Policy: on},
			want:     map[string]want{"a": {0, ReasonMetricsMissing}, "b": {1, ReasonScaleFromZero}},
			leftZero: t0,
		},
		"no metrics with replicas: demand at the gateway changes nothing": {
			in:   Input{Variants: two(2, 0), Load: Load{Waiting: 3}, Policy: on},
			want: map[string]want{"a": {2, ReasonMetricsMissing}, "b": {0, ReasonMetricsMissing}},
		},
		"at zero with a reading of no load: stays at zero without proof": {
			in:   Input{Variants: two(0, 0), Load: Load{Available: true, AvgOut: 2, DataSince: t0}, Policy: on},
			want: map[string]want{"a": {0, ReasonScaleToZero}, "b": {0, ReasonScaleToZero}},
		},
		"at zero with a reading and requests waiting: wakes to the cheapest": {
			in:       Input{Variants: two(0, 0), Load: Load{Available: true, AvgOut: 2, Waiting: 1, DataSince: t0}, Policy: on},
			want:     map[string]want{"a": {0, ReasonOptimal}, "b": {1, ReasonScaleFromZero}},
			nextEval: t0.Add(retention),
			leftZero: t0,
		},
		"idle for the whole window: to zero": {
			in:   Input{Variants: two(1, 0), Load: idleLoad(t0.Add(-retention)), Policy: on},
			want: map[string]want{"a": {0, ReasonScaleToZero}, "b": {0, ReasonScaleToZero}},
		},
		"data only for 3 minutes (Prometheus lost its storage): not yet": {
			in:       Input{Variants: two(0, 1), Load: idleLoad(t0.Add(-3 * time.Minute)), Policy: on},
			want:     map[string]want{"a": {0, ReasonOptimal}, "b": {1, ReasonKeepCheapest}},
			nextEval: t0.Add(7 * time.Minute),
		},
		"created 2 minutes ago: not yet": {
			in:       Input{Variants: two(0, 1), Load: idleLoad(t0.Add(-retention)), Policy: on, CreatedAt: t0.Add(-2 * time.Minute)},
			want:     map[string]want{"a": {0, ReasonOptimal}, "b": {1, ReasonKeepCheapest}},
			nextEval: t0.Add(8 * time.Minute),
		},
		"left zero 5 minutes ago: not yet": {
			in: Input{Variants: two(0, 1), Load: idleLoad(t0.Add(-retention)), Policy: on,
				State: State{LeftZero: t0.Add(-5 * time.Minute)}},
			want:     map[string]want{"a": {0, ReasonOptimal}, "b": {1, ReasonKeepCheapest}},
			nextEval: t0.Add(5 * time.Minute),
			leftZero: t0.Add(-5 * time.Minute),
		},
		"seen at zero last time, with replicas now: it left zero now": {
			in:       Input{Variants: two(0, 1), Load: idleLoad(t0.Add(-retention)), Policy: on, State: State{AtZero: true}},
			want:     map[string]want{"a": {0, ReasonOptimal}, "b": {1, ReasonKeepCheapest}},
			nextEval: t0.Add(retention),
			leftZero: t0,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			tc.in.Now, tc.in.SLO = t0, looseSLO
			r := mustPlan(t, tc.in)
			if diff := cmp.Diff(tc.want, decisions(r)); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if !r.NextEvaluation.Equal(tc.nextEval) {
				t.Errorf("next evaluation %v, want %v", r.NextEvaluation, tc.nextEval)
			}
			if !r.State.LeftZero.Equal(tc.leftZero) {
				t.Errorf("left zero %v, want %v", r.State.LeftZero, tc.leftZero)
			}
		})
	}
}

// TestPlanScaleToZeroAfterPrometheusRestart follows a group whose last
// request was at t0 and whose Prometheus lost its data at t0+3m (retention
// 10m): no scale to zero before t0+13m, when the new data covers a window.
func TestPlanScaleToZeroAfterPrometheusRestart(t *testing.T) {
	restart := t0.Add(3 * time.Minute)
	in := Input{Variants: []Variant{variantWith("a", 10, 1, 0, Unbounded, 1)}, SLO: looseSLO,
		Policy: Policy{ScaleToZero: true, Retention: 10 * time.Minute}}
	for at := restart; at.Before(t0.Add(14 * time.Minute)); at = at.Add(30 * time.Second) {
		in.Now = at
		in.Load = Load{Available: true, AvgOut: 2, RequestsInRetention: ptr(0), DataSince: restart}
		r := mustPlan(t, in)
		zero := r.Variants[0].Replicas == 0
		if wantZero := !at.Before(restart.Add(10 * time.Minute)); zero != wantZero {
			t.Fatalf("at t0+%v: zero %v, want %v", at.Sub(t0), zero, wantZero)
		}
		in.State = r.State
	}
}
