package hpa

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/externalmetrics"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const model8B = "meta-llama/Llama-3.1-8B-Instruct"

var variants8B = []string{"llama-8b-a100", "llama-8b-h100", "llama-8b-l40s"}

// served returns the values the external-metrics endpoint serves for the
// namespace, by variant.
func served(g Gomega, ns string) map[string]int64 {
	p := &externalmetrics.Provider{Desired: metrics.DesiredReplicas}
	list, err := p.Values(ns, labels.Everything())
	g.Expect(err).NotTo(HaveOccurred())
	out := map[string]int64{}
	for _, v := range list.Items {
		out[v.MetricLabels["variant_name"]] = v.Value.Value()
	}
	return out
}

func replicasOf(g Gomega, ns string) map[string]int64 {
	var list appsv1.DeploymentList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	out := map[string]int64{}
	for _, d := range list.Items {
		out[d.Name] = int64(*d.Spec.Replicas)
	}
	return out
}

// replicaWatch records every Deployment replica count that differs from
// want, polled every 50 ms until stopped.
type replicaWatch struct {
	mu       sync.Mutex
	changes  []string
	stop     chan struct{}
	finished chan struct{}
}

func watchReplicas(ns string, want map[string]int64) *replicaWatch {
	w := &replicaWatch{stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(w.finished)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			var list appsv1.DeploymentList
			if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err == nil {
				for _, d := range list.Items {
					if got := int64(*d.Spec.Replicas); got != want[d.Name] {
						w.mu.Lock()
						w.changes = append(w.changes, fmt.Sprintf("%s: %d at %s", d.Name, got, time.Now().Format(time.StampMilli)))
						w.mu.Unlock()
					}
				}
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *replicaWatch) Stop() []string {
	close(w.stop)
	<-w.finished
	return w.changes
}

func setMode(t *testing.T, ns, name string, mode llmdv1alpha1.Mode) {
	t.Helper()
	var va llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &va); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(va.DeepCopy())
	va.Spec.Mode = mode
	if err := env.Client.Patch(context.Background(), &va, patch); err != nil {
		t.Fatal(err)
	}
}

// TestSeriesNeverVanish runs the operator on the samples with the sample
// HPAs applying its decisions, then: makes the group impossible to plan
// (load unknown), restarts the operator with empty metrics, toggles one VA to
// Preview and back, and restarts it with --dry-run. Throughout, every
// variant's series is served and no Deployment's replicas change.
func TestSeriesNeverVanish(t *testing.T) {
	ctx := context.Background()
	const ns = "restart"
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	if err := framework.ApplyConfigMaps(ctx, env.Client, map[string]map[string]string{
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"A100": framework.UnitCost("NVIDIA-A100-80GB", 60),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
		},
		config.ServiceClassesConfigMapName: {"premium.yaml": framework.ServiceClass("Premium", 1, 500, 50, model8B)},
		config.OperatorConfigMapName:       {"STABILIZATION_WINDOW": "0s", "GLOBAL_OPT_INTERVAL": "1h", "GLOBAL_PASS_INTERVAL": "1h"},
	}); err != nil {
		t.Fatal(err)
	}
	samples := filepath.Join(framework.RepoRoot(), "config", "samples")
	if out, err := env.Kubectl(ctx, "", "apply", "-n", ns,
		"-f", filepath.Join(samples, "llama-3.1-8b.yaml"), "-f", filepath.Join(samples, "hpa.yaml")); err != nil {
		t.Fatalf("applying the samples: %v\n%s", err, out)
	}
	load := loadsource.NewMemory(64)
	key := modelgroup.Key{Namespace: ns, ModelID: model8B}
	load.Set(key, modelgroup.Load{ArrivalRate: 40, AvgInputTokens: 512, AvgOutputTokens: 256, ObservedAt: time.Now()})
	opts := controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Load: load, Metrics: metrics,
	}
	op, err := env.StartOperator(opts, ns)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = op.Stop() }()

	// The decisions reach the Deployments through the HPAs.
	g := NewWithT(t)
	var want map[string]int64
	g.Eventually(func(g Gomega) {
		s := served(g, ns)
		g.Expect(s).To(HaveLen(len(variants8B)))
		g.Expect(replicasOf(g, ns)).To(Equal(s))
		want = s
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	t.Logf("decisions applied: %v", want)
	watch := watchReplicas(ns, want)

	// 1. The group cannot be planned: the series hold their values.
	load.SetUnavailable(key, "MetricsMissing", "test: load unknown")
	g.Consistently(func(g Gomega) { g.Expect(served(g, ns)).To(Equal(want)) }).
		WithTimeout(3 * hpaSync).WithPolling(100 * time.Millisecond).Should(Succeed())

	// 2. Restart with empty metrics (a new process): the series come back
	// from the VA statuses though the group still cannot be planned.
	if err := op.Stop(); err != nil {
		t.Fatal(err)
	}
	metrics.DesiredReplicas.Reset()
	metrics.CurrentReplicas.Reset()
	metrics.DesiredRatio.Reset()
	if op, err = env.StartOperator(opts, ns); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) { g.Expect(served(g, ns)).To(Equal(want)) }).WithTimeout(10 * time.Second).Should(Succeed())

	// 3. Preview hands the workload back: its series follows the
	// workload's own replicas, so the HPA keeps them.
	setMode(t, ns, "llama-8b-h100", llmdv1alpha1.ModePreview)
	g.Consistently(func(g Gomega) { g.Expect(served(g, ns)).To(Equal(want)) }).
		WithTimeout(3 * hpaSync).WithPolling(100 * time.Millisecond).Should(Succeed())
	setMode(t, ns, "llama-8b-h100", llmdv1alpha1.ModeAuto)

	// 4. --dry-run, from a fresh process: the same.
	if err := op.Stop(); err != nil {
		t.Fatal(err)
	}
	metrics.DesiredReplicas.Reset()
	dry := opts
	dry.DryRun = true
	if op, err = env.StartOperator(dry, ns); err != nil {
		t.Fatal(err)
	}
	load.Set(key, modelgroup.Load{ArrivalRate: 400, AvgInputTokens: 512, AvgOutputTokens: 256, ObservedAt: time.Now()})
	g.Eventually(func(g Gomega) { g.Expect(served(g, ns)).To(Equal(want)) }).WithTimeout(10 * time.Second).Should(Succeed())
	g.Consistently(func(g Gomega) { g.Expect(served(g, ns)).To(Equal(want)) }).
		WithTimeout(3 * hpaSync).WithPolling(100 * time.Millisecond).Should(Succeed())

	if changes := watch.Stop(); len(changes) > 0 {
		t.Errorf("Deployment replicas changed, want them held at %v:\n%s", want, cmp.Diff([]string(nil), changes))
	}
}
