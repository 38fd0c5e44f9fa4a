package estimator

import (
	"testing"
)

// TestFloorKeepsWhatTheDataPin: windows at nearly one prompt length pin
// γ + δ·x there and pull δ a little below its floor of zero (the decode
// part they are corrected by is a little off). Projecting onto the floor
// must leave the prediction where the data put it; raising δ alone used to
// leave γ's rise of each update in place, γ climbed away from the data,
// and the windows at a longer prompt that followed were all rejected as
// outliers.
func TestFloorKeepsWhatTheDataPin(t *testing.T) {
	prior := DefaultPrior("L40S")
	r := newRelation([2]float64{prior.Mean.Gamma, prior.Mean.Delta}, [2]float64{prior.StdDev.Gamma, prior.StdDev.Delta}, [2]float64{0, 0})
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	truth := func(x float64) float64 { return 15 + 0.02*x }
	for i := range 20 {
		x := 513 + 1.5*float64(i)
		y := truth(x) - 0.05*(x-513) // falls with x: δ is pulled below zero
		if got := r.update(x, y, 1, cfg); got != OutcomeAccepted {
			t.Fatalf("window %d at x = %.1f: %s", i, x, got)
		}
		if p := r.predict(x); relDiff(p, y) > 0.02 {
			t.Fatalf("window %d: predicts %.2f where the windows show %.2f (γ %.2f, δ %.4f)", i, p, y, r.theta.AtVec(0), r.theta.AtVec(1))
		}
		if d := r.theta.AtVec(1); d < 0 {
			t.Fatalf("window %d: δ = %v below its floor", i, d)
		}
	}
	for i := range 10 {
		if got := r.update(1064, truth(1064), 1, cfg); got != OutcomeAccepted {
			t.Fatalf("window %d at the longer prompt: %s (predicted %.2f, shows %.2f)", i, got, r.predict(1064), truth(1064))
		}
	}
	for _, x := range []float64{520, 1064} {
		if p, want := r.predict(x), truth(x); relDiff(p, want) > 0.05 {
			t.Errorf("predicts %.2f at x = %v, the server shows %.2f (γ %.2f, δ %.4f)", p, x, want, r.theta.AtVec(0), r.theta.AtVec(1))
		}
	}
}
