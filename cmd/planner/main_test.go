package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type runResult struct {
	code           int
	stdout, stderr string
}

func runPlanner(t *testing.T, stdin string, args ...string) runResult {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut, now)
	return runResult{code, out.String(), errOut.String()}
}

func TestRunThreeVariants(t *testing.T) {
	r := runPlanner(t, "", "-f", "../../examples/planner/three-variants.yaml")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	// H100 is the cheapest per capacity and capped at 4; A100 is next.
	for _, want := range []string{"llama-8b-h100  H100", "llama-8b-a100", "llama-8b-l40s", "TOTAL", "Succeeded", "LoadChange"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, r.stdout)
		}
	}

	j := runPlanner(t, "", "-f", "../../examples/planner/three-variants.yaml", "-o", "json")
	var rep jsonReport
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil || j.code != exitOK {
		t.Fatalf("json: exit %d, %v:\n%s", j.code, err, j.stdout)
	}
	got := map[string]int{}
	share := 0.0
	for _, v := range rep.Variants {
		got[v.Name] = v.Replicas
		share += v.LoadShare
		if v.TTFT > 1000 || v.ITL > 60 || v.Utilisation > 1 {
			t.Errorf("%s misses the SLO: %+v", v.Name, v)
		}
	}
	want := map[string]int{"llama-8b-h100": 4, "llama-8b-a100": 3, "llama-8b-l40s": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replicas (-want +got):\n%s", diff)
	}
	if rep.Outcome != "Succeeded" || rep.TotalReplicas != 8 || rep.TotalCost != 620 || share < 39.999 || share > 40.001 {
		t.Errorf("report %+v, shares %v", rep, share)
	}
}

func TestRunInfeasibleSLO(t *testing.T) {
	r := runPlanner(t, "", "-f", "../../examples/planner/infeasible-slo.yaml")
	if r.code != exitInfeasible {
		t.Fatalf("exit %d, want %d", r.code, exitInfeasible)
	}
	for _, want := range []string{"no variant can meet the SLO", `"llama-8b-h100": ITL target of 5 ms cannot be met: the best achievable is 8.3 ms`, `"llama-8b-l40s": ITL target of 5 ms`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestRunCapacityLimitedFromStdin(t *testing.T) {
	src := strings.Replace(minimal, "rate: 10", "rate: 1000", 1) + "  max: 2\n"
	r := runPlanner(t, src, "-f", "-")
	if r.code != exitCapacityLimited || !strings.Contains(r.stderr, "capacity limited") || !strings.Contains(r.stdout, "CapacityLimited") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// Requests waiting are served within the drain time on top of the rate:
// 12000 within 2 minutes are 100 req/s more, two replicas of a instead of one.
func TestRunDrainsTheBacklog(t *testing.T) {
	r := runPlanner(t, strings.Replace(minimal, "outputTokens: 20", "outputTokens: 20, waiting: 12000", 1), "-f", "-", "-o", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"replicas": 2,`) {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runPlanner(t, strings.Replace(minimal, "outputTokens: 20", "outputTokens: 20, waiting: 12000", 1)+"policy: {backlogDrainTime: 0s}\n", "-f", "-", "-o", "json")
	if r.code != exitOK || !strings.Contains(r.stdout, `"replicas": 1,`) {
		t.Fatalf("drain off: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runPlanner(t, strings.Replace(minimal, "outputTokens: 20", "outputTokens: 20, waiting: 12000", 1), "-f", "-")
	if want := "12000 waiting, served within 2m0s (+100 req/s)"; !strings.Contains(r.stdout, want) {
		t.Errorf("table lacks %q:\n%s", want, r.stdout)
	}
}

func TestRunUsageAndErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(minimal+"  colour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		"help":           {[]string{"-h"}, exitOK, "Exit status:", ""},
		"long help":      {[]string{"--help"}, exitOK, "planner -f FILE", ""},
		"no file":        {nil, exitInputError, "", "need -f FILE"},
		"unknown flag":   {[]string{"-x"}, exitInputError, "", "see -h"},
		"bad format":     {[]string{"-f", bad, "-o", "xml"}, exitInputError, "", "-o table or json"},
		"extra argument": {[]string{"-f", bad, "more"}, exitInputError, "", "no other arguments"},
		"missing file":   {[]string{"-f", "/nonexistent/x.yaml"}, exitInputError, "", "no such file"},
		"unknown field":  {[]string{"-f", bad}, exitInputError, "", `unknown field "colour"`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := runPlanner(t, "", tc.args...)
			if r.code != tc.wantCode || !strings.Contains(r.stdout, tc.wantStdout) || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
		})
	}
}
