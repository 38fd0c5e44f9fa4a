package allocator

import (
	"fmt"
	"testing"
)

// benchVariants returns n distinct, realistic-ish variants of one model:
// three accelerator types at 1, 2 and 4 accelerators per replica, with
// batch sizes and prices varied so that no two cost the same per capacity.
func benchVariants(n int) []Variant {
	base := []struct {
		name string
		cost float64
		p    Profile
	}{
		{"h100", 100, Profile{MaxBatchSize: 256, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}},
		{"a100", 60, Profile{MaxBatchSize: 128, Alpha: 12, Beta: 0.45, Gamma: 25, Delta: 0.035}},
		{"l40s", 40, Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}},
	}
	vs := make([]Variant, n)
	for i := range vs {
		b := base[i%len(base)]
		k := 1 + i/len(base) // a "bigger" replica: faster and dearer
		p := b.p
		p.Alpha /= 1 + 0.3*float64(k-1)
		p.Delta /= float64(k)
		p.MaxBatchSize = min(4096, p.MaxBatchSize*k)
		vs[i] = Variant{
			Name:    fmt.Sprintf("%s-x%d", b.name, k),
			Cost:    b.cost * float64(k) * (1 + 0.01*float64(i)),
			Profile: p,
			Max:     Unbounded,
		}
	}
	return vs
}

func benchInput(n int) Input {
	return Input{
		Variants: benchVariants(n),
		SLO:      SLO{TTFT: 1000, ITL: 60},
		Load:     Load{Available: true, Rate: 20 * float64(n), AvgIn: 1024, AvgOut: 256},
		Policy:   DefaultPolicy(),
		Now:      t0,
	}
}

// BenchmarkPlan measures a plan with warm capacities: the re-plan of a group
// after a load change (every variant scaled from zero, so both the free and
// the no-growth optimum are solved).
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("variants=%d", n), func(b *testing.B) {
			in := benchInput(n)
			cache := NewCapacityCache(0)
			r, err := Plan(in, cache)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r, _ = Plan(in, cache)
			}
			b.ReportMetric(float64(r.TotalReplicas()), "replicas")
			b.ReportMetric(r.TotalCost(), "cost/h")
		})
	}
}

// BenchmarkCapacity measures one uncached capacity (the bisection over the
// model) for each accelerator type, and for the largest batch size accepted.
func BenchmarkCapacity(b *testing.B) {
	huge := Variant{Name: "batch4096", Profile: Profile{MaxBatchSize: 4096, Alpha: 8, Beta: 0.02, Gamma: 15, Delta: 0.001}}
	for _, v := range append(benchVariants(3), huge) {
		b.Run(v.Name, func(b *testing.B) {
			slo := SLO{TTFT: 1000, ITL: 60}
			var c float64
			for b.Loop() {
				var err error
				if c, err = Capacity(v.Profile, slo, 1024, 256); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(c, "req/s")
		})
	}
}

// BenchmarkPredict measures one evaluation of the model near capacity.
func BenchmarkPredict(b *testing.B) {
	m, err := NewModel(h100, 1024, 256)
	if err != nil {
		b.Fatal(err)
	}
	c, err := m.Capacity(SLO{TTFT: 1000, ITL: 60})
	if err != nil {
		b.Fatal(err)
	}
	var p Prediction
	for b.Loop() {
		p = m.predict(c)
	}
	b.ReportMetric(p.TTFT, "ttft-ms")
}
