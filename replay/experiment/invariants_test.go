package experiment

import (
	"testing"
)

// The small replay inside `make test`: one short, light trace (a day
// compressed into two hours at a third of the report's rates) through every
// policy and the hindsight bound. It asserts what does not depend on
// tuning: every run conserves requests, and the hindsight bound is never
// more expensive than a policy that meets the SLO (99% attainment).
func TestSmallReplayInvariants(t *testing.T) {
	sc := Scenarios(7, 1.0/3, 2)[0]
	arr, err := sc.Trace.Generate()
	if err != nil {
		t.Fatal(err)
	}
	if len(arr) < 1000 {
		t.Fatalf("the trace has only %d requests", len(arr))
	}
	hs, err := Hindsight(sc, arr)
	if err != nil {
		t.Fatal(err)
	}
	if hs.Requests != int64(len(arr)) || hs.Unfinished != 0 {
		t.Errorf("hindsight: %d requests, %d unfinished; want %d and 0", hs.Requests, hs.Unfinished, len(arr))
	}
	if hs.Attainment < 0.99 {
		t.Errorf("hindsight attainment %.4f: every slot is sized to meet 99%%", hs.Attainment)
	}
	meeting := 0
	for _, p := range Policies(true) {
		res, err := Run(sc, arr, p)
		if err != nil {
			t.Fatalf("%s: %v", p.Name(), err)
		}
		t.Logf("%-14s cost $%.2f attainment %.4f TTFT p99 %.0f ms, %d scale actions (hindsight $%.2f)", res.Policy, res.Cost, res.Attainment, res.TTFTp99, res.ScaleActions, hs.Cost)
		if !res.Conserved {
			t.Errorf("%s: requests not conserved", res.Policy)
		}
		if res.Requests != int64(len(arr)) {
			t.Errorf("%s: %d requests recorded, the trace has %d", res.Policy, res.Requests, len(arr))
		}
		if res.Attainment >= 0.99 {
			meeting++
			if hs.Cost > res.Cost*(1+1e-9) {
				t.Errorf("%s meets the SLO (%.4f) at $%.2f, below the hindsight bound $%.2f", res.Policy, res.Attainment, res.Cost, hs.Cost)
			}
		}
	}
	if meeting == 0 {
		t.Error("no policy met the SLO: the hindsight comparison was not exercised")
	}
}
