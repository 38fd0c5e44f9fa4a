package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRatioDesired(t *testing.T) {
	cases := map[string]struct {
		ratio   float64
		current int
		want    int
	}{
		"within tolerance up":   {ratio: 1.09, current: 10, want: 10},
		"within tolerance down": {ratio: 0.91, current: 10, want: 10},
		"beyond tolerance up":   {ratio: 1.11, current: 10, want: 12},
		"beyond tolerance down": {ratio: 0.5, current: 10, want: 5},
		"rounds up":             {ratio: 0.41, current: 10, want: 5},
	}
	for name, c := range cases {
		if got := ratioDesired(c.ratio, c.current); got != c.want {
			t.Errorf("%s: ratioDesired(%v, %d) = %d, want %d", name, c.ratio, c.current, got, c.want)
		}
	}
}

// The HPA's default behaviour over a sequence of syncs 15 s apart: scale up
// at once within max(100%, 4 pods) per sync, scale down only to the highest
// recommendation of the last 5 minutes, never below the minimum.
func TestHPANormalize(t *testing.T) {
	type step struct {
		t                float64 // s
		current, desired int
	}
	cases := map[string]struct {
		min   int
		steps []step
		want  []int
	}{
		"scale-up limited to max(2x, +4) per sync": {
			min:   1,
			steps: []step{{0, 2, 20}, {15, 6, 20}, {30, 12, 20}},
			want:  []int{6, 12, 20},
		},
		"scale-down waits for the window": {
			min:   1,
			steps: []step{{0, 8, 8}, {60, 8, 3}, {200, 8, 3}, {301, 8, 3}},
			want:  []int{8, 8, 8, 3},
		},
		"the highest recent recommendation holds": {
			min:   1,
			steps: []step{{0, 8, 8}, {100, 8, 6}, {200, 8, 3}, {301, 8, 3}, {401, 6, 3}},
			want:  []int{8, 8, 8, 6, 3},
		},
		"minimum": {
			min:   1,
			steps: []step{{0, 1, 0}, {400, 1, 0}},
			want:  []int{1, 1},
		},
	}
	for name, c := range cases {
		h := &hpa{min: c.min}
		var got []int
		for _, s := range c.steps {
			got = append(got, h.normalize(s.t*1000, s.current, s.desired))
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
