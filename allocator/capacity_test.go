package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCapacityIsTheLargestRateMeetingTheSLO(t *testing.T) {
	tests := map[string]struct {
		p       Profile
		in, out float64
		slo     SLO
		// wantCap: the 0.9·μ(N) cap binds; otherwise a target binds.
		wantCap bool
	}{
		"TTFT binds":       {p: h100, in: 1024, out: 256, slo: SLO{TTFT: 500, ITL: 100}},
		"ITL binds":        {p: h100, in: 128, out: 512, slo: SLO{TTFT: 5000, ITL: 20}},
		"loose SLO caps":   {p: h100, in: 128, out: 128, slo: SLO{TTFT: 1e9, ITL: 1e9}, wantCap: true},
		"batch of one":     {p: Profile{MaxBatchSize: 1, Alpha: 10, Gamma: 5}, in: 100, out: 10, slo: SLO{TTFT: 200, ITL: 50}},
		"one output token": {p: h100, in: 2000, out: 1, slo: SLO{TTFT: 300, ITL: 10}},
		"no input tokens":  {p: h100, in: 0, out: 100, slo: SLO{TTFT: 100, ITL: 30}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m := mustModel(t, tc.p, tc.in, tc.out)
			c, err := m.Capacity(tc.slo)
			if err != nil {
				t.Fatal(err)
			}
			limit := 0.9 * m.MaxRate()
			if c <= 0 || c > limit {
				t.Fatalf("capacity %v outside (0, %v]", c, limit)
			}
			at := mustPredict(t, m, c)
			if at.TTFT > tc.slo.TTFT || at.ITL > tc.slo.ITL {
				t.Errorf("at capacity %v: TTFT %v ITL %v exceed %+v", c, at.TTFT, at.ITL, tc.slo)
			}
			if got := c == limit; got != tc.wantCap {
				t.Errorf("capacity %v == 0.9·μ(N) %v: %v, want %v", c, limit, got, tc.wantCap)
			}
			if !tc.wantCap {
				above := mustPredict(t, m, c*(1+3*capacityRelTol))
				if above.TTFT <= tc.slo.TTFT && above.ITL <= tc.slo.ITL {
					t.Errorf("slightly above capacity %v the SLO still holds: TTFT %v ITL %v", c, above.TTFT, above.ITL)
				}
			}
		})
	}
}

// Brute force over random profiles, shapes and SLOs: the SLO holds at every
// rate of a grid up to the capacity and fails just above it (unless the
// 0.9·μ(N) cap binds), and a looser ITL or TTFT target never lowers the
// capacity.
func TestCapacityBruteForceRandomProfiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	checked := 0
	for i := range 300 {
		p := Profile{
			MaxBatchSize: 1 + rng.IntN(256),
			Alpha:        0.5 + 20*rng.Float64(),
			Beta:         rng.Float64(),
			Gamma:        50 * rng.Float64(),
			Delta:        0.05 * rng.Float64(),
		}
		in, out := float64(rng.IntN(4000)), float64(1+rng.IntN(1000))
		m := mustModel(t, p, in, out)
		idle := mustPredict(t, m, 0)
		slo := SLO{TTFT: idle.TTFT * (1 + 20*rng.Float64()), ITL: idle.ITL * (1 + 3*rng.Float64())}
		c, err := m.Capacity(slo)
		if err != nil {
			t.Fatalf("case %d %+v in=%v out=%v %+v: %v", i, p, in, out, slo, err)
		}
		meets := func(rate float64) bool {
			q := mustPredict(t, m, rate)
			return q.TTFT <= slo.TTFT && q.ITL <= slo.ITL
		}
		for j := 1; j <= 100; j++ {
			if r := c * float64(j) / 100; !meets(r) {
				t.Fatalf("case %d %+v in=%v out=%v %+v: capacity %v but the SLO fails at %v", i, p, in, out, slo, c, r)
			}
		}
		if c < 0.9*m.MaxRate() {
			checked++
			if meets(c * (1 + 3*capacityRelTol)) {
				t.Fatalf("case %d %+v in=%v out=%v %+v: the SLO still holds above capacity %v", i, p, in, out, slo, c)
			}
		}
		for _, looser := range []SLO{{TTFT: slo.TTFT * 1.2, ITL: slo.ITL}, {TTFT: slo.TTFT, ITL: slo.ITL * 1.2}} {
			if c2, err := m.Capacity(looser); err != nil || c2 < c*(1-capacityRelTol) {
				t.Fatalf("case %d: capacity %v at %+v, %v (%v) at the looser %+v", i, c, slo, c2, err, looser)
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d of 300 cases were bound by a target, not the cap", checked)
	}
}

func TestCapacityInfeasible(t *testing.T) {
	tests := map[string]struct {
		p       Profile
		in, out float64
		slo     SLO
		want    ErrInfeasible
	}{
		// Tp(1) = 15 + 0.02·1000 = 35 ms.
		"TTFT": {p: h100, in: 1000, out: 100, slo: SLO{TTFT: 30, ITL: 100}, want: ErrInfeasible{Metric: MetricTTFT, Achievable: 35, Target: 30}},
		// Td(1) = 8.3 ms.
		"ITL": {p: h100, in: 1000, out: 100, slo: SLO{TTFT: 1000, ITL: 8}, want: ErrInfeasible{Metric: MetricITL, Achievable: 8.3, Target: 8}},
		// Both miss: TTFT is reported first.
		"both": {p: h100, in: 1000, out: 100, slo: SLO{TTFT: 1, ITL: 1}, want: ErrInfeasible{Metric: MetricTTFT, Achievable: 35, Target: 1}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := Capacity(tc.p, tc.slo, tc.in, tc.out)
			wrapped := fmt.Errorf("variant x: %w", err)
			var inf *ErrInfeasible
			if !errors.As(wrapped, &inf) {
				t.Fatalf("error = %v, want *ErrInfeasible", err)
			}
			if diff := cmp.Diff(tc.want, *inf, cmp.Comparer(func(a, b float64) bool { return near(a, b, 1e-12) })); diff != "" {
				t.Errorf("ErrInfeasible (-want +got):\n%s", diff)
			}
			if c != 0 {
				t.Errorf("capacity = %v, want 0", c)
			}
			if inf.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestCapacityRejectsInvalidSLO(t *testing.T) {
	for _, slo := range []SLO{{0, 1}, {1, 0}, {-1, 1}, {math.NaN(), 1}, {1, math.Inf(1)}} {
		if _, err := Capacity(h100, slo, 10, 10); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("SLO %+v: error = %v, want ErrInvalidInput", slo, err)
		}
	}
	if _, err := (Model{}).Capacity(SLO{1, 1}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("zero Model: error = %v, want ErrInvalidInput", err)
	}
}

func TestRoundTokens(t *testing.T) {
	tests := map[float64]float64{
		0: 0, 1: 1, 1.0004: 1, 1.2345: 1.23, 99.95: 100, 187.3: 187, 1234.5: 1230, 98765: 98800, 0.012345: 0.0123,
	}
	got := map[float64]float64{}
	for in := range tests {
		got[in] = RoundTokens(in)
	}
	if diff := cmp.Diff(tests, got); diff != "" {
		t.Errorf("RoundTokens (-want +got):\n%s", diff)
	}
	for x := range tests {
		if r := RoundTokens(x); RoundTokens(r) != r {
			t.Errorf("RoundTokens not idempotent at %v: %v then %v", x, r, RoundTokens(r))
		}
	}
}

func TestCapacityCache(t *testing.T) {
	c := NewCapacityCache(2)
	slo := SLO{TTFT: 500, ITL: 50}
	direct, err := Capacity(h100, slo, 1020, 256)
	if err != nil {
		t.Fatal(err)
	}
	// 1021 and 1024 both round to 1020: one computation, one hit.
	for _, in := range []float64{1021, 1024} {
		got, err := c.Capacity(h100, slo, in, 256)
		if err != nil || got != direct {
			t.Fatalf("cached capacity for in=%v = %v, %v; want %v", in, got, err, direct)
		}
	}
	if h, m := c.Stats(); h != 1 || m != 1 {
		t.Errorf("stats = %d hits %d misses, want 1 1", h, m)
	}
	// Errors are cached too.
	for range 2 {
		if _, err := c.Capacity(h100, SLO{TTFT: 1, ITL: 1}, 10, 10); err == nil {
			t.Fatal("infeasible SLO: no error")
		}
	}
	if h, m := c.Stats(); h != 2 || m != 2 {
		t.Errorf("stats = %d hits %d misses, want 2 2", h, m)
	}
	// Bounded: many distinct keys never hold more than two generations.
	for i := range 50 {
		_, _ = c.Capacity(h100, slo, float64(100+i), 100)
	}
	if n := c.Len(); n > 4 {
		t.Errorf("Len = %d, want at most 4 (two generations of 2)", n)
	}
	var nilCache *CapacityCache
	if got, err := nilCache.Capacity(h100, slo, 1020, 256); err != nil || got != direct {
		t.Errorf("nil cache: %v, %v; want %v", got, err, direct)
	}
	if nilCache.Len() != 0 {
		t.Error("nil cache has entries")
	}
}

func TestCapacityCacheConcurrent(t *testing.T) {
	c := NewCapacityCache(8)
	slo := SLO{TTFT: 500, ITL: 50}
	want := make([]float64, 16)
	for i := range want {
		w, err := Capacity(h100, slo, float64(100*(i+1)), 100)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = w
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for k := range 64 {
				i := (g + k) % len(want)
				got, err := c.Capacity(h100, slo, float64(100*(i+1)), 100)
				if err != nil || got != want[i] {
					errs <- fmt.Sprintf("key %d: %v, %v; want %v", i, got, err, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if h, m := c.Stats(); h+m != 8*64 {
		t.Errorf("hits+misses = %d, want %d", h+m, 8*64)
	}
}
