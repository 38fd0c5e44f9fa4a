package hpa

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// series are the labels the operator publishes for a sample 8B variant.
func series(ns, variant, accelerator string) controller.VariantSeries {
	return controller.VariantSeries{
		Namespace: ns, Variant: variant, TargetKind: "Deployment", TargetName: variant,
		Accelerator: accelerator, Model: "meta-llama/Llama-3.1-8B-Instruct",
	}
}

// TestSampleHPAAppliesEveryDecision applies config/samples (the 8B
// Deployments and hpa.yaml) unchanged, publishes a scripted sequence of
// decisions for llama-8b-h100, and asserts the Deployment's spec.replicas
// equals each one within two HPA sync periods: small relative changes at
// large counts (20 -> 21 -> 20, under the HPA's default 10% tolerance) and
// scale to zero and back (1 -> 0 -> 1). Variants without a series keep their
// replicas.
func TestSampleHPAAppliesEveryDecision(t *testing.T) {
	ctx := context.Background()
	const ns = "llm-serving"
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(framework.RepoRoot(), "config", "samples")
	if out, err := env.Kubectl(ctx, "", "apply", "-n", ns,
		"-f", filepath.Join(samples, "llama-3.1-8b.yaml"), "-f", filepath.Join(samples, "hpa.yaml")); err != nil {
		t.Fatalf("applying the samples: %v\n%s", err, out)
	}
	h100 := series(ns, "llama-8b-h100", "H100")
	g := NewWithT(t)
	// Two sync periods, and the time for the HPA's write to reach the cache
	// of this test's reads.
	within := 2*hpaSync + time.Second

	var table []string
	for _, want := range []int32{1, 20, 21, 20, 1, 0, 1} {
		metrics.DesiredReplicas.Set(h100, float64(want))
		start := time.Now()
		g.Eventually(func(g Gomega) {
			g.Expect(env.DeploymentReplicas(g, ns, "llama-8b-h100")).To(Equal(want))
		}).WithTimeout(within).WithPolling(50*time.Millisecond).Should(Succeed(), "decision %d", want)
		took := time.Since(start)
		// Held, not passed through on the way to something else.
		g.Consistently(func(g Gomega) {
			g.Expect(env.DeploymentReplicas(g, ns, "llama-8b-h100")).To(Equal(want))
		}).WithTimeout(hpaSync).WithPolling(200*time.Millisecond).Should(Succeed(), "decision %d", want)
		table = append(table, fmt.Sprintf("%8d  %10d  %s", want, env.DeploymentReplicas(g, ns, "llama-8b-h100"), took.Round(10*time.Millisecond)))
	}
	t.Logf("HPA sync period %s\ndecision  HPA result  time to apply\n%s", hpaSync, strings.Join(table, "\n"))

	// The A100 and L40S variants never had a series: their HPAs cannot read
	// the metric and hold the sample's one replica.
	for _, name := range []string{"llama-8b-a100", "llama-8b-l40s"} {
		g.Expect(env.DeploymentReplicas(g, ns, name)).To(Equal(int32(1)), name)
		var hpa autoscalingv2.HorizontalPodAutoscaler
		g.Expect(env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &hpa)).To(Succeed())
		g.Expect(hpa.Status.Conditions).To(ContainElement(And(
			HaveField("Type", autoscalingv2.ScalingActive),
			HaveField("Reason", "FailedGetExternalMetric"),
		)), name)
	}
}

// TestMissingSeriesHoldsReplicas: when the operator stops publishing a
// variant's series, the HPA keeps the workload's replicas (it never reads a
// missing value as zero), and applies the next decision once it is back.
func TestMissingSeriesHoldsReplicas(t *testing.T) {
	ctx := context.Background()
	const ns = "missing"
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(framework.RepoRoot(), "config", "samples")
	if out, err := env.Kubectl(ctx, "", "apply", "-n", ns,
		"-f", filepath.Join(samples, "llama-3.1-8b.yaml"), "-f", filepath.Join(samples, "hpa.yaml")); err != nil {
		t.Fatalf("applying the samples: %v\n%s", err, out)
	}
	l40s := series(ns, "llama-8b-l40s", "L40S")
	g := NewWithT(t)
	metrics.DesiredReplicas.Set(l40s, 3)
	g.Eventually(func(g Gomega) {
		g.Expect(env.DeploymentReplicas(g, ns, "llama-8b-l40s")).To(Equal(int32(3)))
	}).WithTimeout(2*hpaSync + time.Second).Should(Succeed())

	metrics.DesiredReplicas.Delete(l40s)
	g.Consistently(func(g Gomega) {
		g.Expect(env.DeploymentReplicas(g, ns, "llama-8b-l40s")).To(Equal(int32(3)))
	}).WithTimeout(3 * hpaSync).WithPolling(200 * time.Millisecond).Should(Succeed())

	metrics.DesiredReplicas.Set(l40s, 2)
	g.Eventually(func(g Gomega) {
		g.Expect(env.DeploymentReplicas(g, ns, "llama-8b-l40s")).To(Equal(int32(2)))
	}).WithTimeout(2*hpaSync + time.Second).Should(Succeed())
}
