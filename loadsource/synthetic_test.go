package loadsource

import (
	"context"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestSyntheticSourceIsDeterministicAndVaries(t *testing.T) {
	s := NewSynthetic(10*time.Minute, 20)
	key := modelgroup.Key{Namespace: "ns", ModelID: "llama"}
	t0 := time.Unix(1_700_000_000, 0)
	if a, b := s.Rate(key, t0), s.Rate(key, t0); a != b {
		t.Fatalf("Rate is not deterministic: %v then %v", a, b)
	}
	lo, hi := s.Rate(key, t0), s.Rate(key, t0)
	for i := 0; i < 600; i++ {
		r := s.Rate(key, t0.Add(time.Duration(i)*time.Second))
		if r < 0 || r > 2*s.PeakRate {
			t.Fatalf("rate %v outside [0, 2*peak]", r)
		}
		lo, hi = min(lo, r), max(hi, r)
	}
	if hi-lo < 1 {
		t.Fatalf("rate over one simulated day stays within [%v, %v]: no curve", lo, hi)
	}
	s.Now = func() time.Time { return t0 }
	r := s.Load(context.Background(), key, time.Minute)
	if !r.Available || r.Load.AvgOutputTokens < 1 || r.Load.RequestsInRetention == nil {
		t.Fatalf("Load = %+v, want an available reading with tokens and recent requests", r)
	}
}

func TestMoved(t *testing.T) {
	cases := map[string]struct {
		old, updated float64
		want         bool
	}{
		"same":             {old: 5, updated: 5, want: false},
		"within tolerance": {old: 10, updated: 10.5, want: false},
		"beyond":           {old: 10, updated: 12, want: true},
		"from zero":        {old: 0, updated: 0.01, want: true},
		"to zero":          {old: 0.01, updated: 0, want: true},
	}
	for name, tc := range cases {
		if got := Moved(tc.old, tc.updated, 0.1); got != tc.want {
			t.Errorf("%s: Moved(%v, %v) = %v, want %v", name, tc.old, tc.updated, got, tc.want)
		}
	}
}
