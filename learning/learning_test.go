package learning

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

var (
	truth = estimator.Params{Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	at    = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

// learnt returns an estimator fed n observations of a server with profile
// truth at batch sizes 2..61 (1% scatter, deterministic).
func learnt(t *testing.T, n int) *estimator.Estimator {
	t.Helper()
	e, err := estimator.New(estimator.DefaultPrior("L40S"), estimator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		b := float64(2 + i%60)
		in := 150 + float64(i%7)*20
		f := 1 + 0.01*math.Sin(float64(i))
		o := estimator.Observation{Batch: b, ITL: truth.Decode(b) * f, InputTokens: in, Requests: 50,
			Prefill: (truth.Gamma + truth.Delta*in + truth.Alpha*(1-math.Exp(-(b-1))) + truth.Beta*(b-1)) / f}
		if _, err := e.Update(at.Add(time.Duration(i)*time.Minute), o); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// TestStatusRoundTrip: an estimate saved to the status and parsed back
// resumes an estimator whose predictions differ by less than 0.01%.
func TestStatusRoundTrip(t *testing.T) {
	e := learnt(t, 200)
	want := e.Estimate()
	lp := ToStatus(want, "default for L40")
	got, err := FromStatus(lp)
	if err != nil {
		t.Fatal(err)
	}
	r, err := estimator.Restore(estimator.DefaultPrior("L40S"), estimator.Config{}, got)
	if err != nil {
		t.Fatal(err)
	}
	re := r.Estimate()
	for _, n := range []float64{1, 10, 60} {
		for _, pair := range [][2]float64{
			{want.Params.Decode(n), re.Params.Decode(n)},
			{want.Params.Prefill(n, 160), re.Params.Prefill(n, 160)},
		} {
			if math.Abs(pair[0]-pair[1]) > 1e-4*pair[0] {
				t.Errorf("at batch %v: %v before, %v after the round trip", n, pair[0], pair[1])
			}
		}
	}
	if re.DecodeSamples != want.DecodeSamples || !re.Updated.Equal(want.Updated.Truncate(time.Second)) || math.Abs(re.BatchDispersion-want.BatchDispersion) > 1e-4 {
		t.Errorf("samples %d (want %d), updated %v (want %v), dispersion %v (want %v)", re.DecodeSamples, want.DecodeSamples, re.Updated, want.Updated, re.BatchDispersion, want.BatchDispersion)
	}
	if lp.Prior != "default for L40" || !strings.HasPrefix(lp.DecodeCorrelation, "-") {
		t.Errorf("status %+v", lp)
	}
	// Unchanged input, unchanged text: nothing to write.
	if diff := cmp.Diff(lp, ToStatus(want, "default for L40")); diff != "" {
		t.Errorf("not deterministic:\n%s", diff)
	}
}

func TestFromStatusRefuses(t *testing.T) {
	if _, err := FromStatus(nil); err == nil {
		t.Error("nil accepted")
	}
	cases := map[string]struct {
		mutate    func(*llmdv1alpha1.LearnedProfile)
		wantField string
	}{
		"bad alpha":       {func(p *llmdv1alpha1.LearnedProfile) { p.Decode.Alpha = "x" }, "status.learnedProfile.decode.alpha"},
		"negative se":     {func(p *llmdv1alpha1.LearnedProfile) { p.StandardErrors.Delta = "-1" }, "status.learnedProfile.standardErrors.delta"},
		"correlation 1.5": {func(p *llmdv1alpha1.LearnedProfile) { p.PrefillCorrelation = "1.5" }, "status.learnedProfile.prefillCorrelation"},
		"samples":         {func(p *llmdv1alpha1.LearnedProfile) { p.DecodeSamples = -1 }, "samples must not be negative"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			lp := ToStatus(learnt(t, 20).Estimate(), "spec")
			tc.mutate(lp)
			if _, err := FromStatus(lp); err == nil || !strings.Contains(err.Error(), tc.wantField) {
				t.Errorf("got %v, want an error naming %s", err, tc.wantField)
			}
		})
	}
}

func TestChoose(t *testing.T) {
	ready := learnt(t, 200).Estimate()
	early := learnt(t, 5).Estimate()
	slow := estimator.Params{Alpha: 36, Beta: 1.2, Gamma: 70, Delta: 0.1}
	op := estimator.OperatingPoint{Batch: 50, InputTokens: 160}
	cases := map[string]struct {
		source      llmdv1alpha1.ProfileSource
		spec        *estimator.Params
		est         estimator.Estimate
		wantSource  Source
		wantLearned bool
		wantReason  string
	}{
		"auto, usable":                      {source: llmdv1alpha1.ProfileSourceAuto, spec: &slow, est: ready, wantSource: SourceLearned, wantLearned: true, wantReason: llmdv1alpha1.ConditionReasonLearned},
		"unset is auto":                     {spec: &truth, est: ready, wantSource: SourceLearned, wantLearned: true, wantReason: llmdv1alpha1.ConditionReasonLearned},
		"auto, early, spec contradicted":    {source: llmdv1alpha1.ProfileSourceAuto, spec: &slow, est: early, wantSource: SourceLearned, wantReason: llmdv1alpha1.ConditionReasonSpecContradicted},
		"auto, early, spec consistent":      {source: llmdv1alpha1.ProfileSourceAuto, spec: &truth, est: early, wantSource: SourceSpec, wantReason: llmdv1alpha1.ConditionReasonNotEnoughSamples},
		"auto, no spec, early: hold":        {source: llmdv1alpha1.ProfileSourceAuto, est: early, wantSource: SourceHold, wantReason: llmdv1alpha1.ConditionReasonNotEnoughSamples},
		"auto, nothing learned, no spec":    {source: llmdv1alpha1.ProfileSourceAuto, est: estimator.Estimate{}, wantSource: SourceHold, wantReason: llmdv1alpha1.ConditionReasonNotEnoughSamples},
		"learned, usable":                   {source: llmdv1alpha1.ProfileSourceLearned, spec: &slow, est: ready, wantSource: SourceLearned, wantLearned: true, wantReason: llmdv1alpha1.ConditionReasonLearned},
		"learned, early: hold despite spec": {source: llmdv1alpha1.ProfileSourceLearned, spec: &slow, est: early, wantSource: SourceHold, wantReason: llmdv1alpha1.ConditionReasonNotEnoughSamples},
		"spec pinned":                       {source: llmdv1alpha1.ProfileSourceSpec, spec: &slow, est: ready, wantSource: SourceSpec, wantReason: llmdv1alpha1.ConditionReasonLearningDisabled},
		"spec pinned, no spec: hold":        {source: llmdv1alpha1.ProfileSourceSpec, est: ready, wantSource: SourceHold, wantReason: llmdv1alpha1.ConditionReasonLearningDisabled},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := Choose(tc.source, tc.spec, tc.est, estimator.Thresholds{}, op)
			if diff := cmp.Diff([3]any{tc.wantSource, tc.wantLearned, tc.wantReason}, [3]any{c.Source, c.Learned, c.Reason}); diff != "" {
				t.Errorf("(-want +got):\n%s\nmessage: %s", diff, c.Message)
			}
			if c.Message == "" {
				t.Error("no message")
			}
			switch c.Source {
			case SourceLearned:
				if c.Params != tc.est.Params {
					t.Errorf("learned choice plans with %+v, not the estimate", c.Params)
				}
			case SourceSpec:
				if c.Params != *tc.spec {
					t.Errorf("spec choice plans with %+v", c.Params)
				}
			}
			cond := Condition(c, 3, at)
			wantStatus := metav1.ConditionFalse
			if tc.wantLearned {
				wantStatus = metav1.ConditionTrue
			}
			if cond.Type != llmdv1alpha1.ConditionProfileLearned || cond.Status != wantStatus || cond.Reason != tc.wantReason || cond.ObservedGeneration != 3 {
				t.Errorf("condition %+v", cond)
			}
		})
	}
}
