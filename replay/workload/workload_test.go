package workload

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The same seed gives the same trace; another seed another one.
func TestGenerateIsSeeded(t *testing.T) {
	tr := Trace{Name: "t", Duration: 600, Seed: 3, Models: []ModelLoad{
		{Model: "a", Rate: func(float64) float64 { return 5 }, MaxRate: 5, Shape: ShareGPT()},
		{Model: "b", Rate: Diurnal(1, 10, 0), MaxRate: 10, Shape: LMSYS()},
	}}
	x, err := tr.Generate()
	if err != nil {
		t.Fatal(err)
	}
	y, err := tr.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(x, y); diff != "" {
		t.Fatalf("two generations differ:\n%s", diff)
	}
	tr.Seed = 4
	z, err := tr.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(x, z) {
		t.Fatal("another seed gave the same trace")
	}
	for i := 1; i < len(x); i++ {
		if x[i].T < x[i-1].T {
			t.Fatalf("arrival %d at %.1f ms before arrival %d at %.1f ms", i, x[i].T, i-1, x[i-1].T)
		}
	}
}

// The arrival count follows the rate profile: a flash crowd of 10 req/s
// for 1000 s (plus the linear ramps) within 4 standard deviations of its
// Poisson mean, and nothing before it starts.
func TestArrivalsFollowTheRate(t *testing.T) {
	tr := Trace{Name: "f", Duration: 2000, Seed: 9, Models: []ModelLoad{
		{Model: "a", Rate: FlashCrowd(500, 60, 1000, 100, 10), MaxRate: 10, Shape: ShareGPT()},
	}}
	arr, err := tr.Generate()
	if err != nil {
		t.Fatal(err)
	}
	want := 10 * (1000 + 30 + 50.0) // hold plus the two ramps' areas
	if got := float64(len(arr)); math.Abs(got-want) > 4*math.Sqrt(want) {
		t.Errorf("%v arrivals, Poisson mean %v", got, want)
	}
	if arr[0].T < 500_000 {
		t.Errorf("first arrival at %.0f ms, before the crowd starts at 500 s", arr[0].T)
	}
}

// The generated lengths match the published means they are fitted to:
// the sample mean of 200,000 draws within 3% (the clamped lognormal's
// standard error is below 0.5% at this size).
func TestShapesMatchPublishedMeans(t *testing.T) {
	for _, c := range []struct {
		shape   Shape
		in, out float64
	}{
		{ShareGPT(), ShareGPTMeanIn, ShareGPTMeanOut},
		{LMSYS(), LMSYSMeanIn, LMSYSMeanOut},
	} {
		tr := Trace{Name: c.shape.Name, Duration: 20_000, Seed: 1, Models: []ModelLoad{
			{Model: "a", Rate: func(float64) float64 { return 10 }, MaxRate: 10, Shape: c.shape},
		}}
		arr, err := tr.Generate()
		if err != nil {
			t.Fatal(err)
		}
		var in, out float64
		for _, a := range arr {
			in += float64(a.In)
			out += float64(a.Out)
			if a.Out < 1 || a.In > ContextLimit || a.Out > ContextLimit {
				t.Fatalf("%s: lengths %d / %d outside the limits", c.shape.Name, a.In, a.Out)
			}
		}
		n := float64(len(arr))
		for _, m := range []struct {
			name       string
			got, want  float64
			analytical float64
		}{
			{"input", in / n, c.in, c.shape.In.Mean()},
			{"output", out / n, c.out, c.shape.Out.Mean()},
		} {
			if math.Abs(m.got/m.want-1) > 0.03 {
				t.Errorf("%s %s mean %.1f, published %.1f", c.shape.Name, m.name, m.got, m.want)
			}
			if math.Abs(m.analytical/m.want-1) > 0.01 {
				t.Errorf("%s %s: the distribution's mean %.1f is not the published %.1f", c.shape.Name, m.name, m.analytical, m.want)
			}
		}
	}
}

func TestGenerateRejectsBadTraces(t *testing.T) {
	for name, tr := range map[string]Trace{
		"no duration": {Models: []ModelLoad{{Model: "a", Rate: func(float64) float64 { return 1 }, MaxRate: 1, Shape: LMSYS()}}},
		"no models":   {Duration: 10},
		"no envelope": {Duration: 10, Models: []ModelLoad{{Model: "a", Rate: func(float64) float64 { return 1 }, Shape: LMSYS()}}},
		"above envelope": {Duration: 100, Models: []ModelLoad{
			{Model: "a", Rate: func(float64) float64 { return 2 }, MaxRate: 1, Shape: LMSYS()}}},
	} {
		if _, err := tr.Generate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
