package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad flags are refused before anything is served, with a message naming
// what is wrong.
func TestRunRefusesBadFlags(t *testing.T) {
	schedule := filepath.Join(t.TempDir(), "schedule.yaml")
	if err := os.WriteFile(schedule, []byte("models:\n- {namespace: a, model: m, phases: [{rate: 1}]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		args        []string
		wantMessage string
	}{
		"no schedule":          {args: nil, wantMessage: "--schedule is required"},
		"negative delay":       {args: []string{"-schedule", schedule, "-startup-delay", "-1s"}, wantMessage: "--startup-delay must not be negative"},
		"unknown ITL name":     {args: []string{"-schedule", schedule, "-itl-names", "vllm:itl"}, wantMessage: "inter-token latency names must be"},
		"an ITL name twice":    {args: []string{"-schedule", schedule, "-itl-names", "vllm:inter_token_latency_seconds,vllm:inter_token_latency_seconds"}, wantMessage: "each once"},
		"negative engines":     {args: []string{"-schedule", schedule, "-engines-per-pod", "-1"}, wantMessage: "engines per pod must be"},
		"a listen address bad": {args: []string{"-schedule", schedule, "-listen", "256.0.0.1:x"}, wantMessage: "vllm-emulator:"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr strings.Builder
			if code := run(tc.args, &stderr); code == 0 {
				t.Fatalf("run(%q) = 0, want an error", tc.args)
			}
			if !strings.Contains(stderr.String(), tc.wantMessage) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.wantMessage)
			}
		})
	}
}
