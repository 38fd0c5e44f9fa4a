package controller

import (
	"strings"
	"testing"
	"unicode/utf8"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func TestTruncateMessage(t *testing.T) {
	tests := map[string]struct {
		in      string
		wantLen int
		cut     bool
	}{
		"short":            {in: "fine", wantLen: 4},
		"at the limit":     {in: strings.Repeat("a", llmdv1alpha1.MaxConditionMessageLength), wantLen: llmdv1alpha1.MaxConditionMessageLength},
		"long":             {in: strings.Repeat("a", 100_000), wantLen: llmdv1alpha1.MaxConditionMessageLength, cut: true},
		"multi-byte runes": {in: strings.Repeat("é", 5000), cut: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := truncateMessage(tc.in)
			if len(got) > llmdv1alpha1.MaxConditionMessageLength || !utf8.ValidString(got) {
				t.Fatalf("%d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
			}
			if tc.wantLen > 0 && len(got) != tc.wantLen {
				t.Errorf("length %d, want %d", len(got), tc.wantLen)
			}
			if strings.HasSuffix(got, "(truncated)") != tc.cut {
				t.Errorf("truncation marker: %q", got[max(0, len(got)-20):])
			}
		})
	}
}

func TestOptedIn(t *testing.T) {
	tests := map[string]struct {
		annotations map[string]string
		want        bool
	}{
		"none":                {nil, false},
		"any VA":              {map[string]string{llmdv1alpha1.AnnotationScaledBy: "*"}, true},
		"this VA":             {map[string]string{llmdv1alpha1.AnnotationScaledBy: "other, va"}, true},
		"another VA":          {map[string]string{llmdv1alpha1.AnnotationScaledBy: "other"}, false},
		"empty":               {map[string]string{llmdv1alpha1.AnnotationScaledBy: ""}, false},
		"prefix is not match": {map[string]string{llmdv1alpha1.AnnotationScaledBy: "va-2"}, false},
	}
	for name, tc := range tests {
		if got := optedIn(tc.annotations, "va"); got != tc.want {
			t.Errorf("%s: optedIn = %v, want %v", name, got, tc.want)
		}
	}
}
