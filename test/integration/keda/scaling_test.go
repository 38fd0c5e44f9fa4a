package keda

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// samplesNamespace is the namespace the sample's queries select.
const samplesNamespace = "llm-serving"

// sampleAddress is the Prometheus address in the sample, the one line a user
// changes; the test puts its own loopback Prometheus there.
const sampleAddress = "http://prometheus-operated.monitoring.svc:9090"

var applyOnce = sync.OnceValue(applySamples)

// applySamples applies config/samples/llama-3.1-70b.yaml and
// keda-scaledobject.yaml as shipped, except the Prometheus address.
func applySamples() error {
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, samplesNamespace); err != nil {
		return err
	}
	samples := filepath.Join(framework.RepoRoot(), "config", "samples")
	raw, err := os.ReadFile(filepath.Join(samples, "keda-scaledobject.yaml"))
	if err != nil {
		return err
	}
	if !strings.Contains(string(raw), sampleAddress) {
		return fmt.Errorf("the KEDA sample no longer uses serverAddress %s", sampleAddress)
	}
	scaledObjects := strings.ReplaceAll(string(raw), sampleAddress, prom.URL)
	if out, err := env.Kubectl(ctx, "", "apply", "-n", samplesNamespace, "-f", filepath.Join(samples, "llama-3.1-70b.yaml")); err != nil {
		return fmt.Errorf("applying the 70B sample: %w\n%s", err, out)
	}
	if out, err := env.Kubectl(ctx, scaledObjects, "apply", "-n", samplesNamespace, "-f", "-"); err != nil {
		return fmt.Errorf("applying the ScaledObjects: %w\n%s", err, out)
	}
	return nil
}

// series are the labels the operator publishes for a 70B sample variant.
func series(variant, accelerator string) controller.VariantSeries {
	return controller.VariantSeries{
		Namespace: samplesNamespace, Variant: variant, TargetKind: "Deployment", TargetName: variant,
		Accelerator: accelerator, Model: "meta-llama/Llama-3.1-70B-Instruct",
	}
}

func specReplicas(g Gomega, name string) int32 {
	var d appsv1.Deployment
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: samplesNamespace, Name: name}, &d)).To(Succeed())
	g.Expect(d.Spec.Replicas).NotTo(BeNil())
	return *d.Spec.Replicas
}

// within bounds how long one decision takes to reach spec.replicas: two HPA
// sync periods (equal to KEDA's polling interval, which moves 0 <-> 1), one
// scrape, and a second for the writes to be read back.
const within = 2*hpaSync + scrape + time.Second

// TestScaledObjectSampleAppliesEveryDecision publishes a scripted sequence of
// decisions for llama-70b-h100 and asserts the Deployment's spec.replicas
// equals each one within two HPA sync periods and holds it: small relative
// changes at large counts (20 -> 21 -> 20, under the HPA's default 10%
// tolerance) and scale to zero and back (1 -> 0 -> 1), through Prometheus,
// KEDA's adapter and operator, and the HPA controller.
func TestScaledObjectSampleAppliesEveryDecision(t *testing.T) {
	h100 := series("llama-70b-h100", "H100")
	metrics.DesiredReplicas.Set(h100, 1)
	if err := applyOnce(); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	var table []string
	for _, want := range []int32{1, 20, 21, 20, 1, 0, 1} {
		metrics.DesiredReplicas.Set(h100, float64(want))
		start := time.Now()
		g.Eventually(func(g Gomega) {
			g.Expect(env.Workloads.Failed()).To(Succeed())
			g.Expect(keda.Failed()).To(Succeed())
			g.Expect(specReplicas(g, "llama-70b-h100")).To(Equal(want))
		}).WithTimeout(within).WithPolling(50*time.Millisecond).Should(Succeed(), "decision %d", want)
		took := time.Since(start)
		g.Consistently(func(g Gomega) {
			g.Expect(specReplicas(g, "llama-70b-h100")).To(Equal(want))
		}).WithTimeout(hpaSync).WithPolling(200*time.Millisecond).Should(Succeed(), "decision %d", want)
		table = append(table, fmt.Sprintf("%8d  %11d  %s", want, specReplicas(g, "llama-70b-h100"), took.Round(10*time.Millisecond)))
	}
	t.Logf("HPA sync period %s, KEDA polling interval 5s, scrape %s\ndecision  KEDA result  time to apply\n%s", hpaSync, scrape, strings.Join(table, "\n"))
}

// TestMissingSeriesHoldsReplicas: when the series disappears, the sample's
// ignoreNullValues "false" and fallback currentReplicas make KEDA and its
// HPA keep the Deployment's replicas (never read as zero), and the next
// decision applies once the series is back. A variant that never had a
// series keeps the sample's one replica.
func TestMissingSeriesHoldsReplicas(t *testing.T) {
	a100 := series("llama-70b-a100", "A100")
	metrics.DesiredReplicas.Set(a100, 3)
	if err := applyOnce(); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(specReplicas(g, "llama-70b-a100")).To(Equal(int32(3)))
	}).WithTimeout(within).Should(Succeed())

	metrics.DesiredReplicas.Delete(a100)
	g.Consistently(func(g Gomega) {
		g.Expect(specReplicas(g, "llama-70b-a100")).To(Equal(int32(3)))
		g.Expect(specReplicas(g, "llama-70b-mi300x")).To(Equal(int32(1)))
	}).WithTimeout(3 * within).WithPolling(200 * time.Millisecond).Should(Succeed())

	metrics.DesiredReplicas.Set(a100, 2)
	g.Eventually(func(g Gomega) {
		g.Expect(specReplicas(g, "llama-70b-a100")).To(Equal(int32(2)))
	}).WithTimeout(within).Should(Succeed())
}
