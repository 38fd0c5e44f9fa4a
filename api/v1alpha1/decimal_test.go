package v1alpha1

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDecimal(t *testing.T) {
	cases := map[string]struct {
		in        string
		want      float64
		wantError string
	}{
		"integer":          {in: "12", want: 12},
		"zero":             {in: "0", want: 0},
		"fraction":         {in: "0.25", want: 0.25},
		"long fraction":    {in: "3.14159", want: 3.14159},
		"empty":            {in: "", wantError: "empty"},
		"negative":         {in: "-1", wantError: "must not be negative"},
		"letters":          {in: "abc", wantError: "unexpected character 'a'"},
		"exponent":         {in: "1e9", wantError: "unexpected character 'e'"},
		"trailing garbage": {in: "1e9x", wantError: "unexpected character"},
		"leading dot":      {in: ".5", wantError: "digits on both sides"},
		"trailing dot":     {in: "5.", wantError: "digits on both sides"},
		"two dots":         {in: "1.2.3", wantError: "unexpected character '.'"},
		"leading zero":     {in: "007", wantError: "leading zeros"},
		"space":            {in: " 1", wantError: "unexpected character ' '"},
		"NaN":              {in: "NaN", wantError: "unexpected character 'N'"},
		"too long":         {in: strings.Repeat("1", 33), wantError: "longer than 32"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDecimal("spec.x", tc.in)
			if tc.wantError != "" {
				var de *DecimalError
				if !errors.As(err, &de) {
					t.Fatalf("ParseDecimal(%q) error = %v, want a *DecimalError", tc.in, err)
				}
				if !strings.Contains(err.Error(), tc.wantError) || !strings.HasPrefix(err.Error(), "spec.x: ") {
					t.Fatalf("ParseDecimal(%q) error = %q, want it to name spec.x and contain %q", tc.in, err, tc.wantError)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDecimal(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestFormatDecimal(t *testing.T) {
	cases := map[string]struct {
		in     float64
		places int
		want   string
	}{
		"trims zeros":     {in: 1.5, places: 3, want: "1.5"},
		"integer":         {in: 2, places: 2, want: "2"},
		"rounds":          {in: 1.23456, places: 2, want: "1.23"},
		"negative clamps": {in: -3, places: 2, want: "0"},
		"tiny rounds":     {in: 0.0001, places: 2, want: "0"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := FormatDecimal(tc.in, tc.places); got != tc.want {
				t.Fatalf("FormatDecimal(%v, %d) = %q, want %q", tc.in, tc.places, got, tc.want)
			}
		})
	}
}

func TestProfileParse(t *testing.T) {
	p := Profile{MaxBatchSize: 8, Decode: DecodeParameters{Alpha: "20", Beta: "0.5"}, Prefill: PrefillParameters{Gamma: "5", Delta: "0.01"}}
	got, err := p.Parse()
	want := ParsedProfile{MaxBatchSize: 8, Alpha: 20, Beta: 0.5, Gamma: 5, Delta: 0.01}
	if err != nil || got != want {
		t.Fatalf("Parse() = %+v, %v; want %+v", got, err, want)
	}
	p.Decode.Alpha = "0"
	if _, err := p.Parse(); err == nil || !strings.Contains(err.Error(), "spec.profile.decode.alpha") {
		t.Fatalf("Parse() with alpha 0: error = %v, want one naming decode.alpha", err)
	}
	p.Decode.Alpha = "1"
	p.Prefill.Delta = "x"
	if _, err := p.Parse(); err == nil || !strings.Contains(err.Error(), "spec.profile.prefill.delta") {
		t.Fatalf("Parse() with bad delta: error = %v, want one naming prefill.delta", err)
	}
}

// FuzzParseDecimal checks that whatever ParseDecimal accepts is finite, non-negative
// and round-trips through FormatDecimal, and that it never panics.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1.5", "-1", "1e9x", "abc", "00", ".", "123456789012345678901234567890.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDecimal("f", s)
		if err != nil {
			return
		}
		if v < 0 || v != v {
			t.Fatalf("ParseDecimal(%q) = %v: accepted a negative or NaN value", s, v)
		}
		back, err := ParseDecimal("f", FormatDecimal(v, 6))
		if err != nil {
			t.Fatalf("FormatDecimal(%v) produced unparseable %q: %v", v, FormatDecimal(v, 6), err)
		}
		if diff := back - v; diff > 1e-6*(1+v) || diff < -1e-6*(1+v) {
			t.Fatalf("round trip of %q: %v -> %v", s, v, back)
		}
	})
}
