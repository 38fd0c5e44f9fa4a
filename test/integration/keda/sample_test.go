// Package keda checks config/samples/keda-scaledobject.yaml against the
// ScaledObject schema of the KEDA version hack/cluster/keda builds, and that
// it keeps the settings that make KEDA apply every decision and fail safe.
// Running KEDA itself against the local cluster is not done yet: the KEDA
// metrics adapter serves its own /metrics on every interface (no flag binds
// it to loopback), which the tests here may not start.
package keda

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

var env *framework.Env

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{}, func(e *framework.Env) (func() error, error) {
		env = e
		return nil, nil
	})
}

// kedaCRDs is the folder of KEDA's CRDs in the Go module cache, at the
// version the tools module builds (make envtest-bins downloads it).
func kedaCRDs(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "hack", "cluster", "keda", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/kedacore/keda/v2 (v\S+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("hack/cluster/keda/go.mod requires no github.com/kedacore/keda/v2")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "kedacore", "keda", "v2@"+string(m[1]), "config", "crd", "bases")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("KEDA's CRDs are not in the module cache (run `make envtest-bins`, which builds KEDA): %v", err)
	}
	return dir
}

func TestScaledObjectSampleFitsKEDAsSchema(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	crd := filepath.Join(kedaCRDs(t), "keda.sh_scaledobjects.yaml")
	if out, err := env.Kubectl(ctx, "", "apply", "--server-side", "-f", crd); err != nil {
		t.Fatalf("installing the ScaledObject CRD: %v\n%s", err, out)
	}
	if out, err := env.Kubectl(ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/scaledobjects.keda.sh"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := framework.CreateNamespace(ctx, env.Client, "llm-serving"); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(framework.RepoRoot(), "config", "samples", "keda-scaledobject.yaml")
	// Strict field validation: a field KEDA's schema does not know is an
	// error, not silently pruned.
	g.Eventually(func() error {
		out, err := env.Kubectl(ctx, "", "apply", "--dry-run=server", "--server-side", "--validate=strict", "-n", "llm-serving", "-f", sample)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		return nil
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func TestScaledObjectSampleAppliesEveryDecisionAndFailsSafe(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "samples", "keda-scaledobject.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	n := 0
	for doc := range strings.SplitSeq(string(raw), "\n---\n") {
		var o unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(doc), &o.Object); err != nil || o.Object == nil || o.GetKind() == "" {
			continue
		}
		n++
		name := o.GetName()
		field := func(path ...string) any {
			v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
			return v
		}
		g.Expect(field("spec", "minReplicaCount")).To(BeEquivalentTo(0), "%s scales to zero", name)
		g.Expect(field("spec", "cooldownPeriod")).To(BeEquivalentTo(0), "%s scales to zero at once", name)
		g.Expect(field("spec", "fallback", "behavior")).To(Equal("currentReplicas"), "%s holds on errors", name)
		g.Expect(field("spec", "fallback", "replicas")).NotTo(BeEquivalentTo(0), "%s: replicas 0 would let KEDA scale to zero on errors", name)
		for _, dir := range []string{"scaleUp", "scaleDown"} {
			b := []string{"spec", "advanced", "horizontalPodAutoscalerConfig", "behavior", dir}
			g.Expect(field(append(b, "tolerance")...)).To(Equal("0"), "%s %s tolerance", name, dir)
			g.Expect(field(append(b, "stabilizationWindowSeconds")...)).To(BeEquivalentTo(0), "%s %s window", name, dir)
		}
		triggers, _, _ := unstructured.NestedSlice(o.Object, "spec", "triggers")
		g.Expect(triggers).To(HaveLen(1))
		meta := triggers[0].(map[string]any)["metadata"].(map[string]any)
		g.Expect(meta["ignoreNullValues"]).To(Equal("false"), "%s: a missing series is an error, not 0", name)
		g.Expect(meta["query"]).To(And(ContainSubstring(`namespace="`), ContainSubstring(`variant_name="`+name+`"`)), name)
		g.Expect(triggers[0].(map[string]any)["metricType"]).To(Equal("AverageValue"))
		g.Expect(meta["threshold"]).To(Equal("1"))
	}
	g.Expect(n).To(Equal(3))
}
