package kubectlva

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/internal/vactl"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// run runs the plugin as `kubectl va ARGS` with the admin kubeconfig and
// returns what it printed and its exit code, as the golden files hold them.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := vactl.Run(context.Background(), append([]string{"--kubeconfig", env.Kubeconfig}, args...), vactl.Options{
		Out: &out, Err: &errOut,
		Now: func() time.Time { return changed.Time },
	})
	return fmt.Sprintf("$ kubectl va %s\n%s", joinArgs(args), out.String()) +
		fmt.Sprintf("--- stderr\n%s--- exit %d\n", errOut.String(), code)
}

func joinArgs(args []string) string {
	s := ""
	for i, a := range args {
		if i > 0 {
			s += " "
		}
		s += a
	}
	return s
}

func TestGolden(t *testing.T) {
	for name, args := range map[string][]string{
		"top-all-namespaces":   {"top", "-A"},
		"top-namespace":        {"top", "-n", nsServing},
		"top-empty-namespace":  {"top"},
		"explain-optimal":      {"explain", "llama-8b-l40s", "-n", nsServing},
		"explain-stabilized":   {"explain", "llama-8b-a100", "-n", nsServing, "--input", "1024", "--output", "256"},
		"explain-metrics-gone": {"explain", "qwen-7b-a100", "-n", nsChat},
		"explain-learned":      {"explain", "mistral-7b-l40s", "-n", nsChat, "--input", "162", "--output", "256"},
		"plan-learned":         {"plan", modelMistral, "-n", nsChat, "--rate", "12", "--input", "162", "--output", "256"},
		"explain-not-found":    {"explain", "nope", "-n", nsServing},
		"plan-8b":              {"plan", model8B, "-n", nsServing, "--rate", "40"},
		"plan-70b-tokens":      {"plan", model70B, "-n", nsServing, "--rate", "30", "--input", "2048", "--output", "512"},
		"plan-zero-load":       {"plan", model8B, "-n", nsServing, "--rate", "0"},
		"plan-no-rate":         {"plan", model8B, "-n", nsServing},
		"plan-unknown-model":   {"plan", "no/such-model", "-n", nsServing, "--rate", "1"},
	} {
		t.Run(name, func(t *testing.T) {
			got := run(t, args...)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update creates it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("kubectl va %v differs from %s (-golden +got):\n%s", args, golden, diff)
			}
		})
	}
}

// The binary, copied onto the PATH, runs as `kubectl va` under the built
// kubectl, and prints what the golden file holds.
func TestKubectlRunsThePlugin(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "kubectl-va"), "./cmd/kubectl-va")
	build.Dir = framework.RepoRoot()
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/kubectl-va: %v\n%s", err, out)
	}
	kubectl, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kubectl, "va", "--kubeconfig", env.Kubeconfig, "top", "-A")
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl va top -A: %v", err)
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "top-all-namespaces.golden"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.SplitN(strings.SplitN(string(golden), "\n", 2)[1], "--- stderr\n", 2)[0]
	if diff := cmp.Diff(want, string(out)); diff != "" {
		t.Errorf("kubectl va top -A (-golden +got):\n%s", diff)
	}
}
