//go:build linux

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// zeroEnv is the set-up of the scale-from/to-zero cases: the emulator with
// its gateway (serving with the ready pods of the Deployments, which kwok
// marks Ready podStartDelay after they are scheduled), a real Prometheus
// scraping the pods and the gateway, and the operator with the Prometheus
// source and the gateway fast path, actuating through /scale.
type zeroEnv struct {
	emu     *emulator.Emulator
	emuAddr string
	prom    *prometheusServer
	op      *framework.Operator
	// polls counts the fast path's polls and its HTTP requests.
	polls, pollRequests atomic.Int64
}

// zeroModel is the single model of each namespace of these cases.
const zeroModel = "model"

// Settings of the cases.
const (
	// startupDelay is a new pod's start-up, from its scheduling to Ready.
	startupDelay   = podStartDelay
	zeroRateWindow = 10 * time.Second
)

// startZeroEnv starts everything for the given namespaces (one model each,
// all with the gateway) with the scale-to-zero entries given.
func startZeroEnv(t *testing.T, namespaces, withoutGateway []string, scaleToZero map[string]string, extraModels ...emulator.ModelSchedule) *zeroEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	z := &zeroEnv{}
	sched := emulator.Schedule{}
	for _, ns := range namespaces {
		zero := 0
		sched.Models = append(sched.Models, emulator.ModelSchedule{Namespace: ns, Model: zeroModel, Replicas: &zero,
			Phases: []emulator.Phase{{Rate: 0, PromptTokens: 512, GenerationTokens: 128}}})
	}
	sched.Models = append(sched.Models, extraModels...)
	// No start-up delay in the emulator: its pods are the ready ones, which
	// kwok delays already.
	var err error
	z.emu, err = emulator.New(sched, emulator.WithReplicaSource(ready.source), emulator.WithoutGateway(withoutGateway...))
	if err != nil {
		t.Fatal(err)
	}
	z.emuAddr = serveEmulator(ctx, t, z.emu)
	all := slices.Clone(namespaces)
	for _, m := range extraModels {
		if !slices.Contains(all, m.Namespace) {
			all = append(all, m.Namespace)
		}
	}
	for _, ns := range all {
		if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
			t.Fatal(err)
		}
	}

	z.prom = startPrometheus(ctx, t, vllmJob(z.emuAddr),
		cluster.ScrapeJob{Name: "gateway", Targets: []string{z.emuAddr}, Path: "/gateway/metrics"})

	var endpoints []string
	for _, ns := range all {
		if !slices.Contains(withoutGateway, ns) {
			endpoints = append(endpoints, fmt.Sprintf("%s=http://%s/gateway/%s/metrics", ns, z.emuAddr, ns))
		}
	}
	models := []string{zeroModel}
	for _, m := range extraModels {
		models = append(models, m.Model)
	}
	applyZeroConfig(t, z.prom.URL(), strings.Join(endpoints, ","), scaleToZero, models)

	cfg := config.NewStore(nil)
	prom, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: cfg, RateWindow: zeroRateWindow})
	if err != nil {
		t.Fatal(err)
	}
	var cache atomic.Pointer[client.Reader]
	gw, err := loadsource.NewGateway(loadsource.GatewayOptions{Config: cfg,
		AtZero: func(ctx context.Context, key modelgroup.Key) (bool, error) {
			r := cache.Load()
			if r == nil {
				return false, nil
			}
			return loadsource.CacheAtZero(*r)(ctx, key)
		},
		OnPoll: func(s loadsource.GatewayPollStats) { z.polls.Add(1); z.pollRequests.Add(int64(s.Requests)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	src := loadsource.NewWithGateway(prom, gw)
	cfg.Subscribe(src.OnConfigChange)
	z.op, err = env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Store: cfg, Load: src,
		Actuation: controller.ActuationScale,
	}, all...)
	if err != nil {
		t.Fatal(err)
	}
	reader := client.Reader(z.op.Manager.GetCache())
	cache.Store(&reader)
	t.Cleanup(func() {
		if err := z.op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	return z
}

// applyZeroConfig writes the operator's ConfigMaps for these cases.
func applyZeroConfig(t *testing.T, prometheusURL, endpoints string, scaleToZero map[string]string, models []string) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, framework.ConfigNamespace); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:         "2s",
			config.KeyGlobalPassInterval:        "1h",
			config.KeyStabilizationWindow:       "30s",
			config.KeyPrometheusBaseURL:         prometheusURL,
			config.KeyPrometheusStaleness:       "10s",
			config.KeyPrometheusQueryTimeout:    "2s",
			config.KeyLoadChangeTolerance:       "0.1",
			config.KeyScaleToZeroDefaultEnabled: "false",
			config.KeyMaxLoadJumpFactor:         "0",
			config.KeyGatewayEPPEndpoints:       endpoints,
			config.KeyGatewayPollInterval:       "1s",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("Premium", 1, 500, 50, models...),
		},
		config.ScaleToZeroConfigMapName: scaleToZero,
	} {
		if err := framework.ApplyConfigMap(ctx, env.Client, name, data); err != nil {
			t.Fatal(err)
		}
	}
}

// scaleToZeroEntry is a model-scale-to-zero-config entry for a model of one namespace.
func scaleToZeroEntry(ns, model string, enabled bool, retention time.Duration) string {
	return fmt.Sprintf("namespace: %s\nmodelID: %s\nenableScaleToZero: %v\nretentionPeriod: %s\n", ns, model, enabled, retention)
}

// totalReplicas sums the spec.replicas of a namespace's Deployments.
func totalReplicas(g Gomega, ns string) int32 {
	var list appsv1.DeploymentList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns))).To(Succeed())
	n := int32(0)
	for _, d := range list.Items {
		n += *d.Spec.Replicas
	}
	return n
}

// createVariants creates a cheap L40S and a fast H100 variant of the
// namespace's model, with their Deployments at the given replicas.
func createVariants(t *testing.T, ns string, cheap, fast int32, maxReplicas int32) {
	t.Helper()
	ctx := context.Background()
	for _, v := range []struct {
		name, acc string
		replicas  int32
	}{{ns + "-l40s", "L40S", cheap}, {ns + "-h100", "H100", fast}} {
		va := framework.MakeVA(v.name, ns).Model(zeroModel).Accelerator(v.acc).Max(maxReplicas)
		if err := framework.CreateAll(ctx, env.Client, gpuDeployment(v.name, ns, zeroModel, v.acc, v.replicas), va.Obj()); err != nil {
			t.Fatal(err)
		}
	}
}

// firstScaleUp watches the namespace's Deployments (those named name when
// it is not empty) and returns when one is first seen with replicas above
// zero (or fails at the deadline).
func firstScaleUp(ctx context.Context, w client.WithWatch, ns, name string, deadline time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	opts := []client.ListOption{client.InNamespace(ns)}
	if name != "" {
		opts = append(opts, client.MatchingFields{"metadata.name": name})
	}
	var list appsv1.DeploymentList
	if err := w.List(ctx, &list, opts...); err != nil {
		return time.Time{}, err
	}
	for _, d := range list.Items {
		if *d.Spec.Replicas > 0 {
			return time.Now(), nil
		}
	}
	wt, err := w.Watch(ctx, &appsv1.DeploymentList{}, append(opts,
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: list.ResourceVersion}})...)
	if err != nil {
		return time.Time{}, err
	}
	defer wt.Stop()
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no Deployment of %s scaled up within %v", ns, deadline)
		case e, ok := <-wt.ResultChan():
			if !ok {
				return time.Time{}, fmt.Errorf("the watch of %s ended", ns)
			}
			if e.Type != watch.Added && e.Type != watch.Modified {
				continue
			}
			if d, ok := e.Object.(*appsv1.Deployment); ok && d.Spec.Replicas != nil && *d.Spec.Replicas > 0 {
				return time.Now(), nil
			}
		}
	}
}

// decisionReason returns a VA's decision reason ("" without one).
func decisionReason(g Gomega, ns, name string) llmdv1alpha1.DecisionReason {
	va := env.GetVA(g, ns, name)
	if va.Status.Decision == nil {
		return ""
	}
	return va.Status.Decision.Reason
}
