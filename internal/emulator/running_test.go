package emulator

import (
	"math"
	"testing"
	"time"
)

// TestRunningAtIsPoisson: the running gauge is a whole number with the mean
// and the variance of a Poisson count (the spread the emulator's batch,
// Ls + 1, assumes), and the same server at the same time shows the same.
func TestRunningAtIsPoisson(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	for _, ls := range []float64{0.3, 4, 30, 900} {
		const n = 20000
		var sum, sq float64
		for i := range n {
			v := runningAt(ls, []string{"ns", "m", "pod-0"}, start.Add(time.Duration(i)*time.Second))
			if v != math.Trunc(v) || v < 0 {
				t.Fatalf("ls %v: %v is not a count", ls, v)
			}
			sum, sq = sum+v, sq+v*v
		}
		mean := sum / n
		variance := (sq - n*mean*mean) / (n - 1)
		// Four standard errors of the sample mean and variance.
		if tol := 4 * math.Sqrt(ls/n); math.Abs(mean-ls) > tol {
			t.Errorf("ls %v: mean %v", ls, mean)
		}
		if tol := 4 * ls * math.Sqrt(2.0/n+1/(ls*n)); math.Abs(variance-ls) > tol {
			t.Errorf("ls %v: variance %v", ls, variance)
		}
	}
	a := runningAt(12, []string{"pod-0"}, start)
	if b := runningAt(12, []string{"pod-0"}, start); a != b {
		t.Errorf("the same server at the same time shows %v and %v", a, b)
	}
	if got := runningAt(0, []string{"pod-0"}, start); got != 0 {
		t.Errorf("an idle server shows %v running", got)
	}
}
