package allocator

import (
	"math"
	"testing"
	"time"
)

// FuzzPlanGuards: whatever the numbers of one variant, Plan never fails the
// group for it, a valid variant never leaves [min, min(max, ceiling)], never
// grows beyond the scale-up limit unless its minimum asks for it, and an
// invalid one is excluded holding its current replicas.
func FuzzPlanGuards(f *testing.F) {
	f.Add(5.0, 0, 10, 1, 1e3, 100, 4, 100)
	f.Add(1e9+1, 0, -1, 2, 1e6, 100, 4, 100)
	f.Add(10.0, 100000, -1, 1, 1.0, 100, 4, 100)
	f.Add(math.NaN(), 3, 2, -1, 0.0, 0, 0, 0)
	f.Fuzz(func(t *testing.T, cost float64, lo, hi, current int, rate float64, ceiling, upReplicas, upPercent int) {
		if ceiling < 0 || ceiling > 10000 || upReplicas < 0 || upReplicas > 10000 || upPercent < 0 || upPercent > 10000 ||
			!(rate >= 0 && rate <= 1e9) || lo > 1e6 || hi > 1e6 || current > 1e6 {
			return
		}
		pol := Policy{MaxReplicasPerVariant: ceiling, ScaleUp: ScaleUpPolicy{MaxReplicas: upReplicas, MaxPercent: upPercent, Period: time.Minute}}
		fuzzed := Variant{Name: "x", Cost: cost, Min: lo, Max: hi, Current: current, Profile: Profile{MaxBatchSize: 8, Alpha: 10, Beta: 1, Gamma: 5, Delta: 0.01}}
		good := variantWith("good", 10, 1, 0, Unbounded, 1)
		in := Input{Variants: []Variant{fuzzed, good}, SLO: looseSLO, Load: loadOf(rate), Policy: pol, Now: t0}
		r, err := Plan(in, nil)
		if err != nil {
			t.Fatalf("Plan failed the group for one variant's numbers: %v", err)
		}
		for i, d := range r.Variants {
			v := in.Variants[i]
			if d.Excluded {
				if i == 1 || d.Err == nil || d.Replicas != max(v.Current, 0) {
					t.Errorf("%s excluded wrongly: %+v", v.Name, d)
				}
				continue
			}
			hiBound := v.Max
			if ceiling > 0 && (hiBound < 0 || hiBound > ceiling) {
				hiBound = ceiling
			}
			if d.Replicas < v.Min || (hiBound >= 0 && d.Replicas > hiBound) {
				t.Errorf("%s: %d replicas outside [%d, %d]", v.Name, d.Replicas, v.Min, hiBound)
			}
			limit, _, _ := limitScaleUp(nil, pol.ScaleUp, t0, v.Current)
			if d.Replicas > max(limit, v.Min) {
				t.Errorf("%s: %d replicas beyond the scale-up limit %d from %d", v.Name, d.Replicas, limit, v.Current)
			}
		}
	})
}
