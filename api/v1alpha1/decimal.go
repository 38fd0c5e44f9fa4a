package v1alpha1

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// DecimalError says which field holds a malformed decimal and why.
type DecimalError struct {
	Field  string
	Value  string
	Reason string
}

func (e *DecimalError) Error() string {
	return fmt.Sprintf("%s: %q is not a valid decimal: %s", e.Field, e.Value, e.Reason)
}

// maxDecimalLen matches the MaxLength the CRD puts on decimal fields.
const maxDecimalLen = 32

// ParseDecimal parses a non-negative decimal string as the API accepts it:
// digits with an optional fractional part ("12", "0.5"); no sign, exponent,
// spaces, "NaN" or "Inf". field names the value in the error.
func ParseDecimal(field, s string) (float64, error) {
	fail := func(reason string) (float64, error) {
		return 0, &DecimalError{Field: field, Value: s, Reason: reason}
	}
	switch {
	case s == "":
		return fail("empty")
	case len(s) > maxDecimalLen:
		return fail(fmt.Sprintf("longer than %d characters", maxDecimalLen))
	case s[0] == '-':
		return fail("must not be negative")
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || (hasDot && frac == "") {
		return fail("expected digits on both sides of the decimal point")
	}
	if len(whole) > 1 && whole[0] == '0' {
		return fail("leading zeros are not allowed")
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return fail(fmt.Sprintf("unexpected character %q; use digits and one '.'", r))
			}
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) {
		return fail("out of range")
	}
	return v, nil
}

// FormatDecimal renders v with at most `places` fractional digits and no
// trailing zeros, so that equal values always give equal strings.
func FormatDecimal(v float64, places int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		v = 0
	}
	s := strconv.FormatFloat(v, 'f', places, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// ParsedProfile is a Profile with its decimals parsed, in milliseconds.
type ParsedProfile struct {
	MaxBatchSize int
	Alpha, Beta  float64
	Gamma, Delta float64
}

// Parse parses the profile's decimals, naming the offending field on error.
func (p Profile) Parse() (ParsedProfile, error) {
	out := ParsedProfile{MaxBatchSize: int(p.MaxBatchSize)}
	if p.IsZero() {
		return out, ErrNoProfile
	}
	if p.MaxBatchSize < 1 {
		return out, fmt.Errorf("spec.profile.maxBatchSize: must be at least 1, got %d", p.MaxBatchSize)
	}
	fields := []struct {
		name string
		raw  string
		dst  *float64
	}{
		{"spec.profile.decode.alpha", p.Decode.Alpha, &out.Alpha},
		{"spec.profile.decode.beta", p.Decode.Beta, &out.Beta},
		{"spec.profile.prefill.gamma", p.Prefill.Gamma, &out.Gamma},
		{"spec.profile.prefill.delta", p.Prefill.Delta, &out.Delta},
	}
	for _, f := range fields {
		v, err := ParseDecimal(f.name, f.raw)
		if err != nil {
			return out, err
		}
		*f.dst = v
	}
	if out.Alpha <= 0 {
		return out, &DecimalError{Field: "spec.profile.decode.alpha", Value: p.Decode.Alpha, Reason: "must be greater than 0"}
	}
	return out, nil
}

// EffectiveMode returns the mode, treating an unset one as Auto.
func (s *VariantAutoscalingSpec) EffectiveMode() Mode {
	if s.Mode == "" {
		return ModeAuto
	}
	return s.Mode
}
