// Package helm tests the Helm chart charts/variant-autoscaler against a real
// API server: rendered with the Helm Go SDK (hack/helmtest, a module of its
// own), accepted in a server-side dry run with default and non-default
// values, and equal to what config/default installs for equivalent values.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env *framework.Env
	// renderBin is hack/helmtest's render command, built once.
	renderBin string
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{}, func(e *framework.Env) (func() error, error) {
		env = e
		dir, err := os.MkdirTemp("", "va-helm-test-")
		if err != nil {
			return nil, err
		}
		cleanup := func() error { return os.RemoveAll(dir) }
		renderBin = filepath.Join(dir, "render")
		return cleanup, buildRender(renderBin)
	})
}

// buildRender builds the chart renderer of the tools module.
func buildRender(out string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/render")
	cmd.Dir = filepath.Join(framework.RepoRoot(), "hack", "helmtest")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building hack/helmtest/cmd/render: %w\n%s", err, buf.String())
	}
	return nil
}

// renderChart renders the chart into namespace with the values files of
// hack/helmtest/testdata.
func renderChart(t *testing.T, namespace string, valueFiles ...string) string {
	t.Helper()
	args := []string{"-n", namespace}
	for _, f := range valueFiles {
		args = append(args, "-f", filepath.Join(framework.RepoRoot(), "hack", "helmtest", "testdata", f))
	}
	cmd := exec.Command(renderBin, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("rendering the chart %v: %v\n%s", valueFiles, err, errOut.String())
	}
	return out.String()
}

// kustomize renders a folder of the repository with the built kubectl.
func kustomize(t *testing.T, dir string) string {
	t.Helper()
	bin, err := framework.KubectlPath()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "kustomize", filepath.Join(framework.RepoRoot(), dir))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v: %s", dir, err, stderr.String())
	}
	return stdout.String()
}
