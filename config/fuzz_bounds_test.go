package config

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// checkOperatorRanges fails t when an accepted operator config holds a value
// outside the ranges of bounds.go.
func checkOperatorRanges(t *testing.T, o OperatorConfig) {
	t.Helper()
	inDur := func(name string, d time.Duration, r durationRange) {
		if d < r.min || d > r.max {
			t.Errorf("%s = %v outside [%v, %v]", name, d, r.min, r.max)
		}
	}
	inInt := func(name string, n int, r intRange) {
		if int64(n) < r.min || int64(n) > r.max {
			t.Errorf("%s = %d outside [%d, %d]", name, n, r.min, r.max)
		}
	}
	inDur("OptInterval", o.OptInterval, rangeOptInterval)
	inDur("PassInterval", o.PassInterval, rangePassInterval)
	inDur("QueryTimeout", o.Prometheus.QueryTimeout, rangeQueryTimeout)
	inDur("Staleness", o.Prometheus.Staleness, rangeStaleness)
	inDur("Retention", o.ScaleToZeroDefault.Retention, rangeRetention)
	inDur("StabilizationWindow", o.StabilizationWindow, rangeStabilization)
	inDur("ScaleUp.Period", o.ScaleUp.Period, rangeScaleUpPeriod)
	inDur("LoadJump.Confirmation", o.LoadJump.Confirmation, rangeLoadJumpConfirm)
	inDur("BacklogDrainTime", o.BacklogDrainTime, rangeBacklogDrain)
	inInt("MaxReplicasPerVariant", o.MaxReplicasPerVariant, rangeMaxReplicasPerVariant)
	inInt("ScaleUp.MaxReplicas", o.ScaleUp.MaxReplicas, rangeScaleUpMaxReplicas)
	inInt("ScaleUp.MaxPercent", o.ScaleUp.MaxPercent, rangeScaleUpMaxPercent)
	if f := o.LoadJump.Factor; f != 0 && (f < rangeLoadJumpFactor.min || f > rangeLoadJumpFactor.max) {
		t.Errorf("LoadJump.Factor = %v outside 0 or [%v, %v]", f, rangeLoadJumpFactor.min, rangeLoadJumpFactor.max)
	}
}

// Fuzz targets of the range parsers of bounds.go: nothing panics, and what
// is accepted lies within the range.

func FuzzParseBoundedDuration(f *testing.F) {
	for _, s := range []string{"1s", "24h", "1ms", "720h", "0s", "-1s", "2562047h47m16.854775807s", "1e3s", ".5s", "1h-1s", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, r := range []durationRange{rangeOptInterval, rangeQueryTimeout, rangeStabilization, rangeScaleUpPeriod} {
			d, err := parseBoundedDuration(v, r)
			if err == nil && (d < r.min || d > r.max) {
				t.Errorf("parseBoundedDuration(%q, %v) = %v, outside the range", v, r, d)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("error unreasonably long: %d bytes", len(err.Error()))
			}
		}
	})
}

func FuzzParseBoundedInt(f *testing.F) {
	for _, s := range []string{"1", "10000", "10001", "0", "-1", "+5", "007", "1e3", "9223372036854775808", "99999999999999999999999999999999", " 1", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, r := range []intRange{rangeMaxReplicasPerVariant, rangeScaleUpMaxPercent} {
			n, err := parseBoundedInt(v, r)
			if err == nil && (n < r.min || n > r.max) {
				t.Errorf("parseBoundedInt(%q, %v) = %d, outside the range", v, r, n)
			}
			if err != nil && len(err.Error()) > 300 {
				t.Errorf("error unreasonably long (the value must be shortened): %d bytes", len(err.Error()))
			}
		}
	})
}

func FuzzParseLoadJumpFactor(f *testing.F) {
	for _, s := range []string{"0", "2", "10", "1.5", "1000000", "1000000.1", "1e3", "-3", "NaN", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		x, err := parseLoadJumpFactor(v)
		if err == nil && x != 0 && (x < rangeLoadJumpFactor.min || x > rangeLoadJumpFactor.max) {
			t.Errorf("parseLoadJumpFactor(%q) = %v, outside the range", v, x)
		}
	})
}

func FuzzUnitCostRange(f *testing.F) {
	for _, s := range []string{"100.0", "1000000", "10000000", "0.123456789", "0.1234567891", "99999999999999999999999999999999", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		costs, err := ParseUnitCosts(map[string]string{"X": `{"cost": "` + v + `"}`})
		if err != nil {
			return
		}
		if c := costs["X"].Cost; !(c >= 0 && c <= MaxUnitCost) {
			t.Errorf("cost %q accepted as %v, outside [0, %d]", v, c, MaxUnitCost)
		}
	})
}

// FuzzRedactURL: whatever the input, the rendering keeps no user
// information, query or fragment of it.
func FuzzRedactURL(f *testing.F) {
	for _, s := range []string{"https://prom:9091/x?access_token=SECRET", "http://u:SECRET@h/", "https://h/#SECRET", "https://h?", "::", "https://h/p;SECRET?x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out := RedactURL(raw)
		u, err := url.Parse(raw)
		if err != nil {
			if out != "[unparsable URL redacted]" {
				t.Errorf("RedactURL(%q) = %q for an unparsable URL", raw, out)
			}
			return
		}
		for _, secret := range []string{u.RawQuery, u.Fragment, u.User.String()} {
			if len(secret) >= 3 && strings.Contains(out, secret) && !strings.Contains(u.Host+u.Path, secret) {
				t.Errorf("RedactURL(%q) = %q keeps %q", raw, out, secret)
			}
		}
	})
}
