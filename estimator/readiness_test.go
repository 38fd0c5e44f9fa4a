package estimator

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadiness(t *testing.T) {
	// A well-determined estimate: 1% standard errors, α and β negatively
	// correlated as a regression over positive batch sizes makes them.
	good := Estimate{
		Params:        truthH100,
		StdErr:        Params{Alpha: 0.08, Beta: 0.003, Gamma: 0.5, Delta: 0.0002},
		CorrDecode:    -0.8,
		CorrPrefill:   -0.8,
		DecodeSamples: 30, PrefillSamples: 30,
		BatchMin: 2, BatchMax: 40,
		InputTokens: 1024,
	}
	cases := map[string]struct {
		mutate     func(*Estimate)
		op         OperatingPoint
		th         Thresholds
		wantUsable bool
		wantReason ReadinessReason
	}{
		"good, operating inside the range": {op: OperatingPoint{Batch: 30}, wantUsable: true, wantReason: ReasonLearned},
		"good, operating point unknown":    {wantUsable: true, wantReason: ReasonLearned},
		"good, 2x beyond the range":        {op: OperatingPoint{Batch: 80}, wantUsable: true, wantReason: ReasonLearned},
		"beyond 2x the range":              {op: OperatingPoint{Batch: 81}, wantReason: ReasonNarrowBatchRange},
		"looser coverage accepts":          {op: OperatingPoint{Batch: 81}, th: Thresholds{MinCoverage: 0.25}, wantUsable: true, wantReason: ReasonLearned},
		"too few decode samples":           {mutate: func(s *Estimate) { s.DecodeSamples = 9 }, wantReason: ReasonNotEnoughSamples},
		"too few prefill samples":          {mutate: func(s *Estimate) { s.PrefillSamples = 0 }, wantReason: ReasonNotEnoughSamples},
		"fewer samples required":           {mutate: func(s *Estimate) { s.PrefillSamples = 5 }, th: Thresholds{MinSamples: 5}, wantUsable: true, wantReason: ReasonLearned},
		"alpha uncertain":                  {mutate: func(s *Estimate) { s.StdErr.Alpha = 1 }, wantReason: ReasonUncertain},
		"delta uncertain at high batch":    {mutate: func(s *Estimate) { s.StdErr.Delta = 0.002 }, op: OperatingPoint{Batch: 40}, wantReason: ReasonUncertain},
		"positively correlated errors add": {mutate: func(s *Estimate) { s.CorrDecode = 0.9; s.StdErr.Beta = 0.025 }, wantReason: ReasonUncertain},
		"negatively correlated cancel":     {mutate: func(s *Estimate) { s.StdErr.Beta = 0.025 }, wantUsable: true, wantReason: ReasonLearned},
		"zero prediction is uncertain":     {mutate: func(s *Estimate) { s.Params.Gamma, s.Params.Delta = 0, 0 }, wantReason: ReasonUncertain},
		"NaN operating point ignored":      {op: OperatingPoint{Batch: math.NaN(), InputTokens: math.Inf(1)}, wantUsable: true, wantReason: ReasonLearned},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := good
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			got := s.Readiness(tc.th, tc.op)
			if diff := cmp.Diff([2]any{tc.wantUsable, tc.wantReason}, [2]any{got.Usable, got.Reason}); diff != "" {
				t.Errorf("(-want +got):\n%s\nmessage: %s", diff, got.Message)
			}
			if got.Message == "" {
				t.Error("no message")
			}
			if got.Usable && got.WorstRelativeError > DefaultMaxRelativeError && tc.th.MaxRelativeError == 0 {
				t.Errorf("usable with a relative error of %v", got.WorstRelativeError)
			}
		})
	}
}

// TestReadinessFollowsLearning: a fresh estimator is not usable, and
// becomes usable after some observations on varied batch sizes.
func TestReadinessFollowsLearning(t *testing.T) {
	e := mustNew(t, DefaultPrior("H100"), Config{})
	op := OperatingPoint{Batch: 50, InputTokens: 1024}
	if r := e.Estimate().Readiness(Thresholds{}, op); r.Usable || r.Reason != ReasonNotEnoughSamples || !strings.Contains(r.Message, "no observation yet") {
		t.Fatalf("fresh estimator: %+v", r)
	}
	s := newSynth(21, truthH100)
	usableAfter := 0
	for i := range 200 {
		at, o, _ := s.next()
		if _, err := e.Update(at, o); err != nil {
			t.Fatal(err)
		}
		if e.Estimate().Readiness(Thresholds{}, op).Usable {
			usableAfter = i + 1
			break
		}
	}
	if usableAfter < DefaultMinSamples || usableAfter > 60 {
		t.Errorf("usable after %d observations, want between %d and 60", usableAfter, DefaultMinSamples)
	}
	if w := worstRel(e.Estimate().Params, truthH100); w > 0.25 {
		t.Errorf("usable while %.0f%% off: %+v", 100*w, e.Estimate().Params)
	}
}

func TestContradiction(t *testing.T) {
	est := Estimate{Params: truthH100, StdErr: Params{Alpha: 0.1, Beta: 0.01, Gamma: 1, Delta: 0.001}, DecodeSamples: 5, PrefillSamples: 5}
	cases := map[string]struct {
		mutate func(*Estimate)
		spec   Params
		sigmas float64
		want   bool
	}{
		"the truth":                  {spec: truthH100},
		"2x too slow":                {spec: scaled(truthH100, 2), want: true},
		"2x too fast":                {spec: scaled(truthH100, 0.5), want: true},
		"within 4 standard errors":   {spec: Params{Alpha: 8.35, Beta: 0.33, Gamma: 18.9, Delta: 0.0239}},
		"beyond on one parameter":    {spec: Params{Alpha: 8.45, Beta: 0.3, Gamma: 15, Delta: 0.02}, want: true},
		"looser test accepts it":     {spec: Params{Alpha: 8.45, Beta: 0.3, Gamma: 15, Delta: 0.02}, sigmas: 5},
		"too few samples to say":     {spec: scaled(truthH100, 2), mutate: func(s *Estimate) { s.PrefillSamples = 1 }},
		"uncertain estimate accepts": {spec: scaled(truthH100, 2), mutate: func(s *Estimate) { s.StdErr = scaled(truthH100, 0.5) }},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := est
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			got, msg := s.Contradiction(tc.spec, tc.sigmas)
			if got != tc.want || (got && msg == "") {
				t.Errorf("got %v %q, want %v", got, msg, tc.want)
			}
		})
	}
}

func TestCapacityReadiness(t *testing.T) {
	// A capacity linear in α and β and blind to γ and δ: the delta method
	// is exact, so the relative standard error is known in closed form.
	linear := func(p Params) float64 { return 50 - p.Alpha - 10*p.Beta }
	est := Estimate{
		Params:        truthH100,
		StdErr:        Params{Alpha: 0.5, Beta: 0.02, Gamma: 10, Delta: 0.02},
		CorrDecode:    -0.5,
		DecodeSamples: 30, PrefillSamples: 30,
		BatchMin: 2, BatchMax: 40,
	}
	c0 := linear(truthH100)
	wantRel := math.Sqrt(0.5*0.5+100*0.02*0.02+2*(-1)*(-10)*(-0.5)*0.5*0.02) / c0
	cases := map[string]struct {
		capacity   func(Params) float64
		th         Thresholds
		wantUsable bool
		wantReason ReadinessReason
		wantRel    float64 // 0: not checked
	}{
		"blind to the uncertain prefill": {capacity: linear, wantUsable: true, wantReason: ReasonLearned, wantRel: wantRel},
		"stricter bound refuses it":      {capacity: linear, th: Thresholds{MaxRelativeError: wantRel / 2}, wantReason: ReasonUncertain, wantRel: wantRel},
		"depends on delta": {
			capacity:   func(p Params) float64 { return 50 - 1000*p.Delta },
			wantReason: ReasonUncertain, wantRel: 1000 * 0.02 / (50 - 1000*truthH100.Delta),
		},
		"no replica meets the SLO": {capacity: func(Params) float64 { return 0 }, wantReason: ReasonUncertain},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := est.Readiness(tc.th, OperatingPoint{Batch: 30, Capacity: tc.capacity})
			if diff := cmp.Diff([2]any{tc.wantUsable, tc.wantReason}, [2]any{got.Usable, got.Reason}); diff != "" {
				t.Errorf("(-want +got):\n%s\nmessage: %s", diff, got.Message)
			}
			if tc.wantRel != 0 && !(math.Abs(got.WorstRelativeError-tc.wantRel) <= 1e-6*tc.wantRel) {
				t.Errorf("relative error %v, want %v", got.WorstRelativeError, tc.wantRel)
			}
			if got.Message == "" {
				t.Error("no message")
			}
		})
	}
	// The same estimate under the rule on Td and Tp alone: δ's 100%
	// standard error makes the prefill time uncertain.
	if r := est.Readiness(Thresholds{}, OperatingPoint{Batch: 30, InputTokens: 1024}); r.Usable {
		t.Errorf("the Td/Tp rule accepts a prefill slope known to 100%%: %s", r.Message)
	}
	// Either rule suffices: step times known to 1% are usable whatever the
	// capacity's uncertainty.
	sharp := est
	sharp.StdErr = Params{Alpha: 0.01, Beta: 0.0005, Gamma: 0.05, Delta: 0.00005}
	if r := sharp.Readiness(Thresholds{}, OperatingPoint{Batch: 30, InputTokens: 1024, Capacity: func(Params) float64 { return 0 }}); !r.Usable {
		t.Errorf("step times known to 1%% are not usable: %s", r.Message)
	}
}
