package estimator

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// smallBatchWindows are minute windows of a fast server at batches of 1 to
// 5 with Poisson arrivals and latencies 3% noisy: each holds four scrapes
// of the running gauge, whose variance over its mean scatters by most of
// its value (the truth is 1).
func smallBatchWindows(seed uint64, count int) []Window {
	rng := rand.New(rand.NewPCG(seed, 3))
	truth := Params{Alpha: 4, Beta: 0.1, Gamma: 8, Delta: 0.01}
	out := make([]Window, count)
	for i := range out {
		ls := 0.5 + 4*rng.Float64()
		gauge := distuv.Poisson{Lambda: ls, Src: rng}
		scrapes := []float64{gauge.Rand(), gauge.Rand(), gauge.Rand(), gauge.Rand()}
		rate, in := 2.0, 512.0
		itl, prefill := physics(truth, ls+1, in, in, rate)
		noisy := func(v float64) float64 { return v * (1 + 0.03*rng.NormFloat64()) }
		out[i] = Window{Requests: 120, RequestRate: rate, ITL: noisy(itl), PrefillTime: noisy(prefill), InputTokens: in,
			InService: ls, RunningVar: stat.Variance(scrapes, nil), HasRunningVar: true}
	}
	return out
}

// learnWindows feeds windows a minute apart from at; with ownReading the
// estimator takes each window's batch as the window read it.
func learnWindows(t *testing.T, e *Estimator, at time.Time, ws []Window, ownReading bool) {
	t.Helper()
	for _, w := range ws {
		o, ok, err := FromWindow(w, 64)
		if err != nil || !ok {
			t.Fatalf("window %+v: ok %v, %v", w, ok, err)
		}
		if ownReading {
			o.Others = 0 // no mean in service: the estimator takes Batch as it is
		}
		at = at.Add(time.Minute)
		if _, err := e.Update(at, o); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDispersionSmoothsTheBatch: read window by window, the gauge's
// scatter is noise in the batch and pulls β well below the truth (0.1);
// read with the running dispersion it is learned without that bias (on
// average over eight servers: each alone is a few windows' worth of noisy
// latencies), and a restored estimator continues with the same dispersion.
func TestDispersionSmoothsTheBatch(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const servers = 8
	var own, smooth float64
	for seed := range uint64(servers) {
		windows := smallBatchWindows(seed, 200)
		e := mustNew(t, DefaultPrior("H100"), Config{})
		learnWindows(t, e, at, windows, true)
		own += e.Estimate().Params.Beta / servers
		e = mustNew(t, DefaultPrior("H100"), Config{})
		learnWindows(t, e, at, windows, false)
		smooth += e.Estimate().Params.Beta / servers
	}
	if own > 0.08 {
		t.Errorf("read window by window, β = %.4f on average: the gauge's scatter no longer biases it, so this test no longer shows the smoothing", own)
	}
	if relDiff(smooth, 0.1) > 0.05 {
		t.Errorf("read with the running dispersion, β = %.4f on average, want within 5%% of 0.1", smooth)
	}

	windows := smallBatchWindows(servers, 300)
	e := mustNew(t, DefaultPrior("H100"), Config{})
	learnWindows(t, e, at, windows[:200], false)
	if d := e.Estimate().BatchDispersion; relDiff(d, 1) > 0.2 {
		t.Errorf("dispersion %.3f, want within 20%% of Poisson's 1", d)
	}
	restored, err := Restore(DefaultPrior("H100"), Config{}, e.Estimate())
	if err != nil {
		t.Fatal(err)
	}
	at = at.Add(200 * time.Minute)
	learnWindows(t, e, at, windows[200:], false)
	learnWindows(t, restored, at, windows[200:], false)
	if diff := cmp.Diff(e.Estimate(), restored.Estimate(), cmpopts.EquateApprox(1e-9, 1e-12)); diff != "" {
		t.Errorf("the restored estimator continues differently (-orig +restored):\n%s", diff)
	}
}

// TestDispersionSkipsSaturatedWindows: a saturated server's gauge sits at
// the limit with no variance; such windows read the batch as the limit and
// leave the dispersion alone.
func TestDispersionSkipsSaturatedWindows(t *testing.T) {
	e := mustNew(t, DefaultPrior("L40S"), Config{})
	full := Observation{Batch: 64, Others: 64, ITL: 60, Requests: 100, RequestRate: 5, HasDispersion: true, MaxBatch: 64}
	if got := e.readBatch(full); got != 64 {
		t.Errorf("saturated batch read as %v, want 64", got)
	}
	if e.dispersion != poissonDispersion {
		t.Errorf("dispersion %v after a saturated window, want %v", e.dispersion, poissonDispersion)
	}
	steady := Observation{Batch: 20.2, Others: 20, ITL: 30, Requests: 100, RequestRate: 5, Dispersion: 0.2, HasDispersion: true, MaxBatch: 64}
	for range 200 {
		e.readBatch(steady)
	}
	if got := e.readBatch(steady); relDiff(got, 20.2) > 1e-3 {
		t.Errorf("steady windows read the batch as %v, want 20.2", got)
	}
}
