package estimator

import (
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzUpdate: whatever the observations, an update either refuses them with
// ErrInvalidInput and changes nothing, or leaves an estimate in the
// allocator's domain with finite standard errors, correlations in [-1, 1],
// never more uncertain than the prior, and a readiness verdict; and a
// restore from it succeeds.
func FuzzUpdate(f *testing.F) {
	f.Add(4.0, 9.0, 60.0, 512.0, 10.0, 30.0, 3.0, 1e6, 1e-3, 5.0)
	f.Add(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
	f.Add(4096.0, 1e9, 1e12, 1e6, 1e9, 1e-9, 1e-9, 1e-300, 1e300, 1e300)
	f.Add(0.5, -1.0, math.NaN(), math.Inf(1), math.Copysign(0, -1), math.NaN(), 1.0, 1.0, 1.0, 1.0)
	f.Add(2.0, 1e-300, 1e-300, 1e-300, 1e-300, 1e300, 1e300, 1e300, 2.0, 3.0)
	f.Fuzz(func(t *testing.T, batch, itl, prefill, in, reqs, itl2, batch2, prefill2, in2, reqs2 float64) {
		pr := DefaultPrior("H100")
		e := mustNew(t, pr, Config{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		// Each takes the other's batch less one as the others in service,
		// and the first the second's prefill as its dispersion and its
		// batch as the limit: any value, valid or not.
		obs := []Observation{
			{Batch: batch, Others: batch2 - 1, ITL: itl, Prefill: prefill, InputTokens: in, Requests: reqs,
				Dispersion: prefill2, HasDispersion: true, MaxBatch: batch2},
			{Batch: batch2, Others: batch - 1, ITL: itl2, Prefill: prefill2, InputTokens: in2, Requests: reqs2},
		}
		// Repeat so outlier rejection and restarts are exercised.
		for i := range 12 {
			o := obs[i%2]
			before := e.Estimate()
			_, err := e.Update(at.Add(time.Duration(i)*time.Minute), o)
			if err != nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("error %v is not ErrInvalidInput", err)
				}
				if after := e.Estimate(); after != before {
					t.Fatalf("a refused observation changed the estimate: %+v -> %+v", before, after)
				}
				continue
			}
			s := e.Estimate()
			if err := s.Params.validate("estimate", true); err != nil {
				t.Fatalf("estimate left the domain after %+v: %v", o, err)
			}
			if err := s.StdErr.validate("standard error", false); err != nil {
				t.Fatalf("standard errors after %+v: %v", o, err)
			}
			if !finite(s.CorrDecode, s.CorrPrefill) || math.Abs(s.CorrDecode) > 1 || math.Abs(s.CorrPrefill) > 1 {
				t.Fatalf("correlations %v %v", s.CorrDecode, s.CorrPrefill)
			}
			const slack = 1 + 1e-9
			if s.StdErr.Alpha > maxNoise/initialNoise*pr.StdDev.Alpha*slack || s.StdErr.Delta > maxNoise/initialNoise*pr.StdDev.Delta*slack {
				t.Fatalf("standard errors %+v beyond any bound of the prior %+v", s.StdErr, pr.StdDev)
			}
			r := s.Readiness(Thresholds{}, OperatingPoint{Batch: batch})
			if r.Message == "" || (r.Usable != (r.Reason == ReasonLearned)) {
				t.Fatalf("readiness %+v", r)
			}
			if _, err := Restore(pr, Config{}, s); err != nil {
				t.Fatalf("cannot restore %+v: %v", s, err)
			}
		}
	})
}
