package estimator

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func mustSpec(t *testing.T, p Params) Prior {
	t.Helper()
	pr, err := SpecPrior(p)
	if err != nil {
		t.Fatal(err)
	}
	return pr
}

func mustNew(t *testing.T, pr Prior, cfg Config) *Estimator {
	t.Helper()
	e, err := New(pr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestConvergence: from each kind of prior, on noisy data with outliers,
// every parameter comes within 5% of the truth, within three of its own
// standard errors, and the readiness rule accepts the estimate.
func TestConvergence(t *testing.T) {
	cases := map[string]struct {
		prior       Prior
		wantWithin  float64
		observation int
	}{
		"weak default prior for H100": {prior: DefaultPrior("H100"), wantWithin: 0.05, observation: 150},
		"unknown accelerator":         {prior: DefaultPrior("Gaudi3"), wantWithin: 0.05, observation: 150},
		"spec profile 2x too slow":    {prior: mustSpec(t, scaled(truthH100, 2)), wantWithin: 0.05, observation: 150},
		"spec profile 2x too fast":    {prior: mustSpec(t, scaled(truthH100, 0.5)), wantWithin: 0.05, observation: 150},
		"exact spec profile":          {prior: mustSpec(t, truthH100), wantWithin: 0.05, observation: 150},
		"L4 prior, H100 truth":        {prior: DefaultPrior("nvidia-l4"), wantWithin: 0.05, observation: 150},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := mustNew(t, tc.prior, Config{})
			s := newSynth(1, truthH100)
			s.outliers = 0.05
			for range tc.observation {
				at, o, _ := s.next()
				if _, err := e.Update(at, o); err != nil {
					t.Fatal(err)
				}
			}
			est := e.Estimate()
			if w := worstRel(est.Params, truthH100); w > tc.wantWithin {
				t.Errorf("estimate %+v is %.1f%% from the truth %+v, want within %.0f%%", est.Params, 100*w, truthH100, 100*tc.wantWithin)
			}
			for _, p := range []struct {
				name          string
				got, want, se float64
			}{
				{"alpha", est.Params.Alpha, truthH100.Alpha, est.StdErr.Alpha},
				{"beta", est.Params.Beta, truthH100.Beta, est.StdErr.Beta},
				{"gamma", est.Params.Gamma, truthH100.Gamma, est.StdErr.Gamma},
				{"delta", est.Params.Delta, truthH100.Delta, est.StdErr.Delta},
			} {
				if math.Abs(p.got-p.want) > 3*p.se {
					t.Errorf("%s = %v is %.1f standard errors (%v) from the truth %v", p.name, p.got, math.Abs(p.got-p.want)/p.se, p.se, p.want)
				}
			}
			if r := est.Readiness(Thresholds{}, OperatingPoint{Batch: 60, InputTokens: 1024}); !r.Usable {
				t.Errorf("not usable after %d observations: %s (%s)", tc.observation, r.Reason, r.Message)
			}
		})
	}
}

// TestStandardErrorsCalibrated: over many independent runs, the truth lies
// within two standard errors of the estimate about 95% of the time. A
// filter that believed itself too much would fail this.
func TestStandardErrorsCalibrated(t *testing.T) {
	const runs, obs = 200, 60
	inside, total := 0, 0
	for seed := range uint64(runs) {
		e := mustNew(t, DefaultPrior("H100"), Config{})
		s := newSynth(seed+100, truthH100)
		for range obs {
			at, o, _ := s.next()
			if _, err := e.Update(at, o); err != nil {
				t.Fatal(err)
			}
		}
		est := e.Estimate()
		for _, p := range [][3]float64{
			{est.Params.Alpha, truthH100.Alpha, est.StdErr.Alpha},
			{est.Params.Beta, truthH100.Beta, est.StdErr.Beta},
			{est.Params.Gamma, truthH100.Gamma, est.StdErr.Gamma},
			{est.Params.Delta, truthH100.Delta, est.StdErr.Delta},
		} {
			total++
			if math.Abs(p[0]-p[1]) <= 2*p[2] {
				inside++
			}
		}
	}
	if frac := float64(inside) / float64(total); frac < 0.88 || frac > 0.995 {
		t.Errorf("the truth is within 2 standard errors in %.1f%% of %d cases, want about 95%%", 100*frac, total)
	}
}

// TestOutliersRejected: with 10% wild windows the estimate stays as good as
// on clean data, and the outliers are the observations rejected.
func TestOutliersRejected(t *testing.T) {
	e := mustNew(t, DefaultPrior("H100"), Config{})
	s := newSynth(7, truthH100)
	s.outliers = 0.1
	var outliers, rejectedOutliers, rejectedClean int
	for range 300 {
		at, o, isOutlier := s.next()
		res, err := e.Update(at, o)
		if err != nil {
			t.Fatal(err)
		}
		if isOutlier {
			outliers++
		}
		if res.Decode == OutcomeRejected {
			if isOutlier {
				rejectedOutliers++
			} else {
				rejectedClean++
			}
		}
	}
	// The first few observations come before outliers can be told apart.
	if rejectedOutliers < outliers-3 || rejectedClean > 3 {
		t.Errorf("rejected %d of %d outliers and %d clean observations", rejectedOutliers, outliers, rejectedClean)
	}
	// γ is the hardest: a 15 ms intercept under prefills of up to 2.6 s.
	if w := worstRel(e.Estimate().Params, truthH100); w > 0.1 {
		t.Errorf("estimate %+v is %.1f%% off", e.Estimate().Params, 100*w)
	}
}

// TestRegimeChange: the server becomes twice as slow at once (a new vLLM
// version). The observations are rejected as outliers until five in a row
// restart the relations, which then learn the new parameters.
func TestRegimeChange(t *testing.T) {
	e := mustNew(t, mustSpec(t, truthH100), Config{})
	s := newSynth(3, truthH100)
	for range 200 {
		at, o, _ := s.next()
		if _, err := e.Update(at, o); err != nil {
			t.Fatal(err)
		}
	}
	slow := scaled(truthH100, 2)
	s.truth = slow
	restartedAt := -1
	for i := range 200 {
		at, o, _ := s.next()
		res, err := e.Update(at, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Decode == OutcomeRestarted && restartedAt < 0 {
			restartedAt = i
		}
	}
	if restartedAt != DefaultRestartAfter-1 {
		t.Errorf("decode restarted at observation %d after the change, want %d", restartedAt, DefaultRestartAfter-1)
	}
	if w := worstRel(e.Estimate().Params, slow); w > 0.1 {
		t.Errorf("after the change the estimate %+v is %.1f%% from %+v", e.Estimate().Params, 100*w, slow)
	}
	if got := e.Estimate().DecodeSamples; got >= 200 {
		t.Errorf("decode samples %d: the restart did not reset the count", got)
	}
}

// TestDriftTracked: α and γ grow by half over ten hours (a slow
// degradation), observed once a minute, as the manager's default window
// does. With its forgetting (ForgettingFor the default memory) the
// estimate keeps up; without (λ = 1) it lags far behind: the forgetting
// factor is what tracks drift.
func TestDriftTracked(t *testing.T) {
	run := func(lambda float64) float64 {
		e := mustNew(t, mustSpec(t, truthH100), Config{Forgetting: lambda})
		s := newSynth(5, truthH100)
		s.noise = 0.02
		const steps = 600 // minutes
		for i := range steps {
			f := 1 + 0.5*float64(i)/steps
			s.truth = Params{Alpha: truthH100.Alpha * f, Beta: truthH100.Beta, Gamma: truthH100.Gamma * f, Delta: truthH100.Delta}
			at, o, _ := s.next()
			if _, err := e.Update(at, o); err != nil {
				t.Fatal(err)
			}
		}
		return worstRel(e.Estimate().Params, s.truth)
	}
	lambda, err := ForgettingFor(time.Minute, DefaultMemory)
	if err != nil {
		t.Fatal(err)
	}
	withForgetting, without := run(lambda), run(1)
	if withForgetting > 0.1 {
		t.Errorf("with forgetting the estimate is %.1f%% off the drifted truth, want within 10%%", 100*withForgetting)
	}
	if without < 2*withForgetting {
		t.Errorf("without forgetting %.1f%% off, with %.1f%%: forgetting should at least halve the lag", 100*without, 100*withForgetting)
	}
}

// TestCovarianceNoWindup: hours of observations at a single batch size
// (a steady load) never make the estimator less certain than its prior.
func TestCovarianceNoWindup(t *testing.T) {
	pr := DefaultPrior("H100")
	e := mustNew(t, pr, Config{Forgetting: 0.9})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2000 {
		at = at.Add(time.Minute)
		if _, err := e.Update(at, Observation{Batch: 8, ITL: truthH100.Decode(8), Prefill: truthH100.Prefill(8, 512), InputTokens: 512, Requests: 100}); err != nil {
			t.Fatal(i, err)
		}
	}
	se := e.Estimate().StdErr
	if se.Beta > pr.StdDev.Beta*(1+1e-9) || se.Delta > pr.StdDev.Delta*(1+1e-9) || se.Alpha > pr.StdDev.Alpha*(1+1e-9) {
		t.Errorf("standard errors %+v exceed the prior's %+v", se, pr.StdDev)
	}
	// One batch size cannot tell α from β: the rule must not accept it
	// for an operating range that reaches beyond it.
	if r := e.Estimate().Readiness(Thresholds{}, OperatingPoint{Batch: 15}); r.Usable {
		t.Errorf("usable from a single batch size: %+v", r)
	}
}

// TestRestoreResumes: an estimator restored from its Estimate (what the VA
// status keeps) continues on the same data to the same estimate.
func TestRestoreResumes(t *testing.T) {
	pr := DefaultPrior("A100")
	a := mustNew(t, pr, Config{})
	s := newSynth(11, truthH100)
	for range 80 {
		at, o, _ := s.next()
		if _, err := a.Update(at, o); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Restore(pr, Config{}, a.Estimate())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Estimate(), b.Estimate(), cmpopts.EquateApprox(1e-12, 1e-12)); diff != "" {
		t.Fatalf("restored estimate differs (-orig +restored):\n%s", diff)
	}
	for range 40 {
		at, o, _ := s.next()
		ra, errA := a.Update(at, o)
		rb, errB := b.Update(at, o)
		if errA != nil || errB != nil || ra != rb {
			t.Fatalf("updates differ: %v %v / %v %v", ra, errA, rb, errB)
		}
	}
	if diff := cmp.Diff(a.Estimate(), b.Estimate(), cmpopts.EquateApprox(1e-9, 1e-12)); diff != "" {
		t.Errorf("continued estimates differ (-orig +restored):\n%s", diff)
	}
}

func TestRestoreRejectsBadEstimates(t *testing.T) {
	good := Estimate{Params: truthH100, StdErr: Params{Alpha: 1, Beta: 0.1, Gamma: 1, Delta: 0.01}, BatchMin: 1, BatchMax: 10}
	cases := map[string]func(*Estimate){
		"zero alpha":        func(s *Estimate) { s.Params.Alpha = 0 },
		"negative beta":     func(s *Estimate) { s.Params.Beta = -1 },
		"NaN gamma":         func(s *Estimate) { s.Params.Gamma = math.NaN() },
		"infinite se":       func(s *Estimate) { s.StdErr.Delta = math.Inf(1) },
		"correlation above": func(s *Estimate) { s.CorrDecode = 1.5 },
		"batch range":       func(s *Estimate) { s.BatchMin = 20 },
		"negative samples":  func(s *Estimate) { s.PrefillSamples = -1 },
	}
	if _, err := Restore(DefaultPrior("H100"), Config{}, good); err != nil {
		t.Fatalf("good estimate refused: %v", err)
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			s := good
			mutate(&s)
			if _, err := Restore(DefaultPrior("H100"), Config{}, s); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("got %v, want ErrInvalidInput", err)
			}
		})
	}
}

func TestUpdateOutcomes(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]struct {
		obs     Observation
		want    Result
		wantErr bool
	}{
		"both relations":   {obs: Observation{Batch: 4, ITL: 9, Prefill: 60, InputTokens: 512, Requests: 10}, want: Result{OutcomeAccepted, OutcomeAccepted}},
		"decode only":      {obs: Observation{Batch: 4, ITL: 9, Requests: 10}, want: Result{OutcomeAccepted, OutcomeSkipped}},
		"prefill only":     {obs: Observation{Batch: 4, Prefill: 60, InputTokens: 512, Requests: 10}, want: Result{OutcomeSkipped, OutcomeAccepted}},
		"no prompt tokens": {obs: Observation{Batch: 4, Prefill: 60, Requests: 10}, want: Result{OutcomeSkipped, OutcomeSkipped}},
		"no requests":      {obs: Observation{Batch: 4, ITL: 9, Prefill: 60, InputTokens: 512}, want: Result{OutcomeSkipped, OutcomeSkipped}},
		"batch below one":  {obs: Observation{Batch: 0.5, ITL: 9, Requests: 1}, wantErr: true},
		"negative ITL":     {obs: Observation{Batch: 2, ITL: -1, Requests: 1}, wantErr: true},
		"NaN prefill":      {obs: Observation{Batch: 2, Prefill: math.NaN(), Requests: 1}, wantErr: true},
		"infinite weight":  {obs: Observation{Batch: 2, ITL: 9, Requests: math.Inf(1)}, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := mustNew(t, DefaultPrior("H100"), Config{})
			before := e.Estimate()
			got, err := e.Update(at, tc.obs)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidInput) {
					t.Fatalf("got %v, want ErrInvalidInput", err)
				}
				if diff := cmp.Diff(before, e.Estimate()); diff != "" {
					t.Errorf("a refused observation changed the estimate:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			updated := got.Decode != OutcomeSkipped || got.Prefill != OutcomeSkipped
			if gotUpdated := !e.Estimate().Updated.IsZero(); gotUpdated != updated {
				t.Errorf("Updated set = %v, want %v", gotUpdated, updated)
			}
		})
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	good := DefaultPrior("H100")
	cases := map[string]struct {
		prior Prior
		cfg   Config
	}{
		"zero prior alpha":    {prior: Prior{Mean: Params{Beta: 1}, StdDev: good.StdDev}},
		"zero prior sd":       {prior: Prior{Mean: good.Mean, StdDev: Params{Alpha: 1}}},
		"forgetting above 1":  {prior: good, cfg: Config{Forgetting: 1.5}},
		"negative forgetting": {prior: good, cfg: Config{Forgetting: -0.5}},
		"negative sigma":      {prior: good, cfg: Config{OutlierSigma: -1}},
		"negative restart":    {prior: good, cfg: Config{RestartAfter: -1}},
		"NaN weight":          {prior: good, cfg: Config{FullWeightRequests: math.NaN()}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := New(tc.prior, tc.cfg); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("got %v, want ErrInvalidInput", err)
			}
		})
	}
	if _, err := SpecPrior(Params{Alpha: 0, Beta: 1}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("spec prior with alpha 0: %v", err)
	}
}

func TestPriors(t *testing.T) {
	cases := map[string]struct {
		accelerator string
		wantSource  string
		wantAlpha   float64
	}{
		"exact":         {accelerator: "H100", wantSource: "default for H100", wantAlpha: 8},
		"product name":  {accelerator: "NVIDIA-A100-SXM4-80GB", wantSource: "default for A100", wantAlpha: 12},
		"lower case":    {accelerator: "l40s", wantSource: "default for L40", wantAlpha: 18},
		"L4 not L40":    {accelerator: "nvidia-l4", wantSource: "default for L4", wantAlpha: 30},
		"unknown":       {accelerator: "TPU-v5e", wantSource: `default for an unknown accelerator "TPU-v5e"`, wantAlpha: 15},
		"empty unknown": {accelerator: "", wantSource: `default for an unknown accelerator ""`, wantAlpha: 15},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := DefaultPrior(tc.accelerator)
			if p.Source != tc.wantSource || p.Mean.Alpha != tc.wantAlpha {
				t.Errorf("got %q alpha %v, want %q alpha %v", p.Source, p.Mean.Alpha, tc.wantSource, tc.wantAlpha)
			}
			if err := p.validate(); err != nil {
				t.Error(err)
			}
		})
	}
	spec := mustSpec(t, Params{Alpha: 10, Beta: 0, Gamma: 20, Delta: 0.04})
	want := Params{Alpha: 5, Beta: specStdDevFloor.Beta, Gamma: 10, Delta: 0.02}
	if diff := cmp.Diff(want, spec.StdDev); diff != "" {
		t.Errorf("spec prior sd (-want +got):\n%s", diff)
	}
}

// TestSaturationKeepsSlope: after learning over a range of batch sizes,
// hours at one batch size (a saturated server) keep α and β: forgetting is
// directional, so what the old data said about the slope survives.
func TestSaturationKeepsSlope(t *testing.T) {
	e := mustNew(t, DefaultPrior(""), Config{})
	s := newSynth(9, truthH100)
	for range 150 {
		at, o, _ := s.next()
		if _, err := e.Update(at, o); err != nil {
			t.Fatal(err)
		}
	}
	s.maxBatch = 1.0001 // n = 1 … 1.0001: one batch size
	for range 1000 {
		at, o, _ := s.next()
		o.Batch = 64
		o.ITL, o.Prefill = physics(truthH100, 64, o.InputTokens, synthPromptMean, o.RequestRate)
		o.ITL *= 1 + 0.03*s.rng.NormFloat64()
		if _, err := e.Update(at, o); err != nil {
			t.Fatal(err)
		}
	}
	got := e.Estimate().Params
	if relDiff(got.Alpha, truthH100.Alpha) > 0.1 || relDiff(got.Beta, truthH100.Beta) > 0.1 {
		t.Errorf("after 1000 observations at batch 64: alpha %v, beta %v; want within 10%% of %v, %v", got.Alpha, got.Beta, truthH100.Alpha, truthH100.Beta)
	}
}

func TestForgettingFor(t *testing.T) {
	cases := map[string]struct {
		window, memory time.Duration
		want           float64
		wantErr        bool
	}{
		"the manager's default":        {window: time.Minute, memory: DefaultMemory, want: 0.975},
		"two-minute windows":           {window: 2 * time.Minute, memory: DefaultMemory, want: DefaultForgetting},
		"five windows":                 {window: 8 * time.Minute, memory: DefaultMemory, want: 0.8},
		"fewer than five windows":      {window: 9 * time.Minute, memory: DefaultMemory, wantErr: true},
		"no window":                    {memory: DefaultMemory, wantErr: true},
		"memory shorter than a window": {window: time.Hour, memory: time.Minute, wantErr: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ForgettingFor(tc.window, tc.memory)
			if tc.wantErr {
				if !errors.Is(err, ErrInvalidInput) {
					t.Errorf("got %v, %v; want ErrInvalidInput", got, err)
				}
				return
			}
			if err != nil || math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("got %v, %v; want %v", got, err, tc.want)
			}
			if _, err := New(DefaultPrior("H100"), Config{Forgetting: got}); err != nil {
				t.Errorf("the estimator refuses it: %v", err)
			}
		})
	}
}
