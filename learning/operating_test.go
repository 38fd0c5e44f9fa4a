package learning

import (
	"testing"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/estimator"
)

func TestOperatingPointIsTheAllocators(t *testing.T) {
	slo := allocator.SLO{TTFT: 1000, ITL: 60}
	op := OperatingPoint(truth, 64, slo, 250, 200)
	md, err := allocator.NewModel(Profile(truth, 64), 250, 200)
	if err != nil {
		t.Fatal(err)
	}
	want, err := md.Capacity(slo)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := md.Predict(want)
	if err != nil {
		t.Fatal(err)
	}
	if op.Batch != pred.Concurrency || op.InputTokens != 250 {
		t.Errorf("batch %v and input tokens %v, want the allocator's %v and 250", op.Batch, op.InputTokens, pred.Concurrency)
	}
	if got := op.Capacity(truth); got != want {
		t.Errorf("capacity %v, want the allocator's %v", got, want)
	}
	slower := estimator.Params{Alpha: 2 * truth.Alpha, Beta: 2 * truth.Beta, Gamma: 2 * truth.Gamma, Delta: 2 * truth.Delta}
	if got := op.Capacity(slower); !(got > 0 && got < want) {
		t.Errorf("a server twice as slow has capacity %v, want in (0, %v)", got, want)
	}

	// An SLO no replica meets: no operating batch and a capacity of 0. A
	// profile whose step times are known is usable all the same (the plan
	// then says the SLO is infeasible); a barely fed one is not.
	none := OperatingPoint(truth, 64, allocator.SLO{TTFT: 1000, ITL: 1}, 250, 200)
	if none.Batch != 0 || none.Capacity(truth) != 0 {
		t.Errorf("infeasible SLO: batch %v, capacity %v, want 0 and 0", none.Batch, none.Capacity(truth))
	}
	for _, tc := range []struct {
		observations int
		op           estimator.OperatingPoint
		wantUsable   bool
	}{{200, op, true}, {200, none, true}, {12, none, false}} {
		r := learnt(t, tc.observations).Estimate().Readiness(estimator.Thresholds{}, tc.op)
		if r.Usable != tc.wantUsable {
			t.Errorf("%d observations, operating batch %v: usable %v (%s), want %v", tc.observations, tc.op.Batch, r.Usable, r.Message, tc.wantUsable)
		}
	}
}
