package estimator

import (
	"math"
	"testing"
)

// TestDecodePartReadsOthers: the step that admits a request decodes the
// others in service when it was admitted (Observation.Others), not the
// batch a token sees less one; without Others it falls back to that.
func TestDecodePartReadsOthers(t *testing.T) {
	p := Params{Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	cases := map[string]struct {
		o     Observation
		wantB float64
	}{
		"others given":              {o: Observation{Batch: 30.2, Others: 30}, wantB: 30},
		"without others: batch − 1": {o: Observation{Batch: 31}, wantB: 30},
		"alone":                     {o: Observation{Batch: 1}, wantB: 0},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			want := p.Alpha*(1-math.Exp(-tc.wantB)) + p.Beta*tc.wantB
			if got := decodePart(p, tc.o); math.Abs(got-want) > 1e-12 {
				t.Errorf("decode part %v, want %v (b = %v)", got, want, tc.wantB)
			}
		})
	}
}
