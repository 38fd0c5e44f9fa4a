package keda

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestScaledObjectSampleFitsKEDAsSchema(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	// KEDA's CRDs are installed by StartKEDA, from KEDA's module.
	if err := framework.CreateNamespace(ctx, env.Client, "schema"); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Join(framework.RepoRoot(), "config", "samples", "keda-scaledobject.yaml")
	// Strict field validation: a field KEDA's schema does not know is an
	// error, not silently pruned.
	g.Eventually(func() error {
		out, err := env.Kubectl(ctx, "", "apply", "--dry-run=server", "--server-side", "--validate=strict", "-n", "schema", "-f", sample)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, out)
		}
		return nil
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

func TestScaledObjectSampleKeepsItsSafetySettings(t *testing.T) {
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
