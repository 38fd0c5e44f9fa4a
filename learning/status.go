package learning

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

// significant is the number of significant digits a status value keeps:
// enough that resuming from the status changes a prediction by less than
// 0.01%, few enough that jitter below that writes nothing.
const significant = 6

// decimal renders v ≥ 0 with `significant` significant digits as an API
// decimal (no exponent).
func decimal(v float64) string {
	if !(v > 0) || math.IsInf(v, 0) {
		return "0"
	}
	places := max(0, min(20, significant-1-int(math.Floor(math.Log10(v)))))
	return llmdv1alpha1.FormatDecimal(v, places)
}

// signed renders a correlation in [-1, 1].
func signed(v float64) string {
	v = math.Max(-1, math.Min(1, v))
	if v < 0 {
		if s := decimal(-v); s != "0" {
			return "-" + s
		}
		return "0"
	}
	return decimal(v)
}

// ToStatus is the status form of an estimate; prior names the prior it
// started from.
func ToStatus(s estimator.Estimate, prior string) *llmdv1alpha1.LearnedProfile {
	lp := &llmdv1alpha1.LearnedProfile{
		Decode:  llmdv1alpha1.DecodeParameters{Alpha: decimal(max(s.Params.Alpha, estimator.MinAlpha)), Beta: decimal(s.Params.Beta)},
		Prefill: llmdv1alpha1.PrefillParameters{Gamma: decimal(s.Params.Gamma), Delta: decimal(s.Params.Delta)},
		StandardErrors: llmdv1alpha1.ProfileStandardErrors{
			Alpha: decimal(s.StdErr.Alpha), Beta: decimal(s.StdErr.Beta), Gamma: decimal(s.StdErr.Gamma), Delta: decimal(s.StdErr.Delta),
		},
		DecodeCorrelation:  signed(s.CorrDecode),
		PrefillCorrelation: signed(s.CorrPrefill),
		DecodeSamples:      clampInt32(s.DecodeSamples),
		PrefillSamples:     clampInt32(s.PrefillSamples),
		BatchMin:           decimal(s.BatchMin),
		BatchMax:           decimal(s.BatchMax),
		InputTokens:        decimal(s.InputTokens),
		BatchDispersion:    decimal(s.BatchDispersion),
		DecodeNoise:        decimal(s.DecodeNoise),
		PrefillNoise:       decimal(s.PrefillNoise),
		Prior:              truncate(prior, 128),
	}
	if !s.Updated.IsZero() {
		lp.LastUpdateTime = &metav1.Time{Time: s.Updated.Truncate(time.Second)}
	}
	return lp
}

// FromStatus parses a status.learnedProfile back into an estimate, naming
// the offending field on error (the caller then starts from the prior).
func FromStatus(lp *llmdv1alpha1.LearnedProfile) (estimator.Estimate, error) {
	if lp == nil {
		return estimator.Estimate{}, errors.New("status.learnedProfile is absent")
	}
	var s estimator.Estimate
	var errs []error
	num := func(field, raw string, dst *float64) {
		if raw == "" {
			return // optional values default to 0
		}
		v, err := llmdv1alpha1.ParseDecimal(field, raw)
		if err != nil {
			errs = append(errs, err)
			return
		}
		*dst = v
	}
	corr := func(field, raw string, dst *float64) {
		if raw == "" {
			return
		}
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < -1 || v > 1 {
			errs = append(errs, fmt.Errorf("%s: %q is not a correlation in [-1, 1]", field, raw))
			return
		}
		*dst = v
	}
	const f = "status.learnedProfile."
	num(f+"decode.alpha", lp.Decode.Alpha, &s.Params.Alpha)
	num(f+"decode.beta", lp.Decode.Beta, &s.Params.Beta)
	num(f+"prefill.gamma", lp.Prefill.Gamma, &s.Params.Gamma)
	num(f+"prefill.delta", lp.Prefill.Delta, &s.Params.Delta)
	num(f+"standardErrors.alpha", lp.StandardErrors.Alpha, &s.StdErr.Alpha)
	num(f+"standardErrors.beta", lp.StandardErrors.Beta, &s.StdErr.Beta)
	num(f+"standardErrors.gamma", lp.StandardErrors.Gamma, &s.StdErr.Gamma)
	num(f+"standardErrors.delta", lp.StandardErrors.Delta, &s.StdErr.Delta)
	corr(f+"decodeCorrelation", lp.DecodeCorrelation, &s.CorrDecode)
	corr(f+"prefillCorrelation", lp.PrefillCorrelation, &s.CorrPrefill)
	num(f+"batchMin", lp.BatchMin, &s.BatchMin)
	num(f+"batchMax", lp.BatchMax, &s.BatchMax)
	num(f+"inputTokens", lp.InputTokens, &s.InputTokens)
	num(f+"batchDispersion", lp.BatchDispersion, &s.BatchDispersion)
	num(f+"decodeNoise", lp.DecodeNoise, &s.DecodeNoise)
	num(f+"prefillNoise", lp.PrefillNoise, &s.PrefillNoise)
	if lp.DecodeSamples < 0 || lp.PrefillSamples < 0 {
		errs = append(errs, fmt.Errorf("%ssamples must not be negative, got %d and %d", f, lp.DecodeSamples, lp.PrefillSamples))
	}
	s.DecodeSamples, s.PrefillSamples = int(lp.DecodeSamples), int(lp.PrefillSamples)
	if lp.LastUpdateTime != nil {
		s.Updated = lp.LastUpdateTime.Time
	}
	if err := errors.Join(errs...); err != nil {
		return estimator.Estimate{}, err
	}
	return s, nil
}

func clampInt32(n int) int32 {
	if n > math.MaxInt32 {
		return math.MaxInt32
	}
	return int32(max(n, 0))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
