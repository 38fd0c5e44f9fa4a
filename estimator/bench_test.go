package estimator

import (
	"testing"
	"time"
)

// BenchmarkUpdate: one observation (both relations). The controller makes
// one per pod per refresh.
func BenchmarkUpdate(b *testing.B) {
	e, err := New(DefaultPrior("H100"), Config{})
	if err != nil {
		b.Fatal(err)
	}
	s := newSynth(1, truthH100)
	obs := make([]Observation, 1024)
	for i := range obs {
		_, obs[i], _ = s.next()
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Update(at, obs[i%len(obs)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/observation")
}

// BenchmarkReadiness: the rule the planner applies per variant and plan.
func BenchmarkReadiness(b *testing.B) {
	s := Estimate{Params: truthH100, StdErr: Params{Alpha: 0.08, Beta: 0.003, Gamma: 0.5, Delta: 0.0002},
		DecodeSamples: 30, PrefillSamples: 30, BatchMin: 2, BatchMax: 40, InputTokens: 1024}
	usable := 0
	for b.Loop() {
		if s.Readiness(Thresholds{}, OperatingPoint{Batch: 30}).Usable {
			usable++
		}
	}
	b.ReportMetric(float64(usable)/float64(b.N), "usable/op")
}
