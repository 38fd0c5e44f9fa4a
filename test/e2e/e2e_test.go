//go:build linux

// Package e2e runs the operator against a real Prometheus (3.x, built from
// source into $KUBEBUILDER_ASSETS) that scrapes the vLLM and gateway
// emulator, on a local cluster built from source too: kube-apiserver and
// etcd, kube-controller-manager and kube-scheduler running the variants'
// Deployments, and kwok's fake GPU nodes (workloads_test.go); the emulator
// serves each model with its Deployments' ready pods: `make test-e2e`. This
// file is the load-source scenario; zero_test.go the scale-to-zero cases.
//
// The scenario: model A ramps up and its replicas rise, split across its two
// variants by cost; model B without load and without scale-to-zero keeps
// one replica on its cheapest variant; Prometheus is stopped (every group
// reports MetricsAvailable=False/PrometheusError and no replica count goes
// down) and restarted (the groups recover); model A's load drops to zero and
// after the retention period its variants go to zero; finally 198 more VAs
// in more groups leave the number of PromQL queries per refresh unchanged.
package e2e

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env *framework.Env
	// ready is the ready pods of the Deployments, the emulator's replica source.
	ready *readyPods
)

// TestMain starts the control plane with the controllers, the scheduler
// and kwok's GPU nodes (workloads_test.go).
func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{Workloads: workloadOptions()}, func(e *framework.Env) (func() error, error) {
		env = e
		ctx, cancel := context.WithCancel(context.Background())
		var err error
		ready, err = startReadyPods(ctx)
		return func() error { cancel(); return nil }, err
	})
}

const (
	// timeout bounds every Eventually: a few refreshes (GLOBAL_OPT_INTERVAL
	// 2s) plus Prometheus's rate window.
	timeout = 60 * time.Second
	poll    = 250 * time.Millisecond

	nsA, modelA = "e2e-a", "model-a"
	nsB, modelB = "e2e-b", "model-b"
	nsScale     = "e2e-scale"
	// extraGroups of 3 VAs each, plus A (2) and B (3): 200 VAs.
	extraGroups = 65
	// peakRate needs 4 replicas of the test profile at 512/128 tokens and
	// the SLO below (about 13.7 req/s per replica).
	peakRate = 50
	// baseRate needs one replica.
	baseRate  = 10
	rampTime  = 15 * time.Second
	retention = 20 * time.Second
	// rateWindow is the range of the rate() queries: shorter than the
	// default 1m so a load change shows within seconds.
	rateWindow = 10 * time.Second
)

func extraModel(i int) string { return fmt.Sprintf("model-%03d", i) }

// refreshLog records every refresh with the HTTP requests it sent.
type refreshLog struct {
	inFlight atomic.Int64 // requests since the last refresh ended
	mu       sync.Mutex
	records  []refreshRecord
}

type refreshRecord struct {
	stats    loadsource.RefreshStats
	requests int64
}

func (l *refreshLog) observe(s loadsource.RefreshStats) {
	n := l.inFlight.Swap(0)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, refreshRecord{stats: s, requests: n})
}

func (l *refreshLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.records)
}

func (l *refreshLog) last() refreshRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.records[len(l.records)-1]
}

func (l *refreshLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.inFlight.Add(1)
		return rt.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// scenario is everything the steps share.
type scenario struct {
	emu      *emulator.Emulator
	prom     *prometheusServer
	source   *loadsource.Prometheus
	refreshs *refreshLog
}

func TestOperatorWithPrometheus(t *testing.T) {
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &scenario{refreshs: &refreshLog{}}

	// The emulator: A at a base load (one replica), B has no load, the
	// extra models a little each. Every model is served by its
	// Deployments' ready pods, none before they exist.
	zero := 0
	sched := emulator.Schedule{Models: []emulator.ModelSchedule{
		{Namespace: nsA, Model: modelA, Replicas: &zero, Phases: []emulator.Phase{{Rate: baseRate, PromptTokens: 512, GenerationTokens: 128}}},
		{Namespace: nsB, Model: modelB, Replicas: &zero, Phases: []emulator.Phase{{Rate: 0}}},
	}}
	for i := range extraGroups {
		sched.Models = append(sched.Models, emulator.ModelSchedule{Namespace: nsScale, Model: extraModel(i), Replicas: &zero,
			Phases: []emulator.Phase{{Rate: 1, PromptTokens: 256, GenerationTokens: 64}}})
	}
	var err error
	s.emu, err = emulator.New(sched, emulator.WithReplicaSource(ready.source))
	if err != nil {
		t.Fatal(err)
	}
	emuAddr := serveEmulator(ctx, t, s.emu)

	// Prometheus scraping the emulator every second.
	s.prom = startPrometheus(ctx, t, vllmJob(emuAddr))

	// The operator's ConfigMaps and the operator with the Prometheus source.
	applyConfig(t, s.prom.URL())
	store := config.NewStore(nil)
	s.source, err = loadsource.NewPrometheus(loadsource.PrometheusOptions{
		Config: store, RateWindow: rateWindow,
		WrapTransport: s.refreshs.wrap, OnRefresh: s.refreshs.observe,
	})
	if err != nil {
		t.Fatal(err)
	}
	store.Subscribe(s.source.OnConfigChange)
	op, err := env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Store: store, Load: s.source,
		Actuation: controller.ActuationScale,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})
	t.Logf("setup took %v", time.Since(began).Round(time.Millisecond))

	steps := []struct {
		name string
		run  func(*testing.T, *scenario)
	}{
		{"model A scales up, split by cost", stepScaleUp},
		{"model B keeps one replica on its cheapest variant", stepKeepCheapest},
		{"Prometheus outage holds replicas, restart recovers", stepOutage},
		{"model A goes to zero after the retention period", stepScaleToZero},
		{"queries per refresh do not depend on the number of VAs", stepQueriesPerRefresh},
	}
	for _, step := range steps {
		started := time.Now()
		ok := t.Run(step.name, func(t *testing.T) { step.run(t, s) })
		t.Logf("step %q took %v", step.name, time.Since(started).Round(time.Millisecond))
		if !ok {
			break
		}
	}
	t.Logf("the e2e scenario took %v", time.Since(began).Round(time.Millisecond))
}

func applyConfig(t *testing.T, prometheusURL string) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, framework.ConfigNamespace); err != nil {
		t.Fatal(err)
	}
	models := []string{modelA, modelB}
	for i := range extraGroups {
		models = append(models, extraModel(i))
	}
	for name, data := range map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:         "2s",
			config.KeyGlobalPassInterval:        "1h",
			config.KeyStabilizationWindow:       "0s",
			config.KeyPrometheusBaseURL:         prometheusURL,
			config.KeyPrometheusStaleness:       "10s",
			config.KeyPrometheusQueryTimeout:    "2s",
			config.KeyLoadChangeTolerance:       "0.1",
			config.KeyScaleToZeroDefaultEnabled: "false",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"A100": framework.UnitCost("NVIDIA-A100-80GB", 60),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("Premium", 1, 500, 50, models...),
		},
		config.ScaleToZeroConfigMapName: {
			"model-a": fmt.Sprintf("modelID: %s\nenableScaleToZero: true\nretentionPeriod: %s\n", modelA, retention),
		},
	} {
		if err := framework.ApplyConfigMap(ctx, env.Client, name, data); err != nil {
			t.Fatal(err)
		}
	}
}

// variant is one VA with its Deployment.
type variant struct {
	name, accelerator string
	replicas, max     int32
}

// createGroup creates the variants' Deployments and VAs.
func createGroup(t *testing.T, ns, model string, variants ...variant) {
	t.Helper()
	createWorkloads(t, ns, model, variants...)
	createVAs(t, ns, model, variants...)
}

// createWorkloads creates the variants' Deployments, whose pods request one
// GPU of the variant's accelerator each.
func createWorkloads(t *testing.T, ns, model string, variants ...variant) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		if err := env.Client.Create(ctx, gpuDeployment(v.name, ns, model, v.accelerator, v.replicas)); err != nil {
			t.Fatal(err)
		}
	}
}

// createVAs creates the variants' VAs.
func createVAs(t *testing.T, ns, model string, variants ...variant) {
	t.Helper()
	for _, v := range variants {
		va := framework.MakeVA(v.name, ns).Model(model).Accelerator(v.accelerator)
		if v.max > 0 {
			va.Max(v.max)
		}
		if err := env.Client.Create(context.Background(), va.Obj()); err != nil {
			t.Fatal(err)
		}
	}
}

func expectMetricsAvailable(g Gomega, ns, name string, status metav1.ConditionStatus, reason string) {
	va := env.GetVA(g, ns, name)
	c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
	g.Expect(c).NotTo(BeNil(), "MetricsAvailable of %s", name)
	g.Expect(c.Status).To(Equal(status), "MetricsAvailable of %s: %s", name, c.Message)
	g.Expect(c.Reason).To(Equal(reason), "MetricsAvailable of %s: %s", name, c.Message)
}

// waitRefreshes waits until n more refreshes ended and returns the last.
func (s *scenario) waitRefreshes(t *testing.T, n int) refreshRecord {
	t.Helper()
	target := s.refreshs.count() + n
	NewWithT(t).Eventually(s.refreshs.count).WithTimeout(timeout).WithPolling(50 * time.Millisecond).
		Should(BeNumerically(">=", target))
	return s.refreshs.last()
}

var (
	variantsA = []variant{{name: "a-h100", accelerator: "H100", replicas: 1, max: 10}, {name: "a-l40s", accelerator: "L40S", replicas: 1, max: 2}}
	variantsB = []variant{{name: "b-h100", accelerator: "H100", replicas: 2}, {name: "b-a100", accelerator: "A100", replicas: 2}, {name: "b-l40s", accelerator: "L40S", replicas: 2}}
	keyA      = modelgroup.Key{Namespace: nsA, ModelID: modelA}
)

// queriesAtTwoVAs is the number of PromQL requests of one refresh while only
// model A's two VAs exist.
var queriesAtTwoVAs int64

func stepScaleUp(t *testing.T, s *scenario) {
	g := NewWithT(t)
	// A is served before it is autoscaled: its Deployments first, and its
	// VAs once the source sees the load on their ready pods, so that the
	// group never looks idle (it has scale-to-zero enabled).
	createWorkloads(t, nsA, modelA, variantsA...)
	g.Eventually(func() float64 {
		return s.source.Load(context.Background(), keyA, retention).Load.ArrivalRate
	}).WithTimeout(timeout).WithPolling(poll).Should(BeNumerically(">", 0))
	createVAs(t, nsA, modelA, variantsA...)
	rec := s.waitRefreshes(t, 2)
	queriesAtTwoVAs = rec.requests
	t.Logf("2 VAs: %d PromQL queries per refresh (%d groups in Prometheus, refresh took %v)",
		rec.requests, rec.stats.Groups, rec.stats.Duration)

	// At the base load one replica, on the cheaper variant.
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DesiredReplicas(g, nsA, "a-h100"), env.DesiredReplicas(g, nsA, "a-l40s")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{0, 1}))

	// The load ramps up to the peak: desired replicas rise; the cheap L40S
	// variant goes to its maximum of 2, the rest lands on H100.
	if err := s.emu.SetPhases(nsA, modelA, []emulator.Phase{
		{Duration: emulator.Duration{Duration: rampTime}, Rate: peakRate, Ramp: true},
	}); err != nil {
		t.Fatal(err)
	}
	var seen []int32
	g.Eventually(func(g Gomega) {
		h100, l40s := env.DesiredReplicas(g, nsA, "a-h100"), env.DesiredReplicas(g, nsA, "a-l40s")
		if len(seen) == 0 || seen[len(seen)-1] != h100+l40s {
			seen = append(seen, h100+l40s)
		}
		g.Expect([]int32{h100, l40s}).To(Equal([]int32{2, 2}))
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("model A's desired replicas went through %v", seen)
	g.Expect(len(seen)).To(BeNumerically(">=", 2), "the desired replicas rose from one")
	g.Expect(slices.IsSorted(seen)).To(BeTrue(), "the desired replicas only rose while the load rose: %v", seen)
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, nsA, "a-h100"), env.DeploymentReplicas(g, nsA, "a-l40s")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{2, 2}))
	// A pod that just became ready is not scraped yet: until it is, fewer
	// pods report than are ready, which reads as MetricsStale.
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsA, "a-l40s", metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("a-l40s decision: %+v", *env.GetVA(g, nsA, "a-l40s").Status.Decision)
}

func stepKeepCheapest(t *testing.T, s *scenario) {
	g := NewWithT(t)
	createGroup(t, nsB, modelB, variantsB...)
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DesiredReplicas(g, nsB, "b-h100"), env.DesiredReplicas(g, nsB, "b-a100"), env.DesiredReplicas(g, nsB, "b-l40s")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{0, 0, 1}))
	g.Expect(env.GetVA(g, nsB, "b-l40s").Status.Decision.Reason).To(Equal(llmdv1alpha1.ReasonKeepCheapest))
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsB, "b-l40s", metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, nsB, "b-h100"), env.DeploymentReplicas(g, nsB, "b-a100"), env.DeploymentReplicas(g, nsB, "b-l40s")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{0, 0, 1}))
	// And it stays there: no load is not missing load.
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, nsB, "b-l40s") }).
		WithTimeout(3 * time.Second).WithPolling(poll).Should(Equal(int32(1)))
}

// allVariants lists the VAs of A and B.
func allVariants() [][2]string {
	var out [][2]string
	for _, v := range variantsA {
		out = append(out, [2]string{nsA, v.name})
	}
	for _, v := range variantsB {
		out = append(out, [2]string{nsB, v.name})
	}
	return out
}

func stepOutage(t *testing.T, s *scenario) {
	g := NewWithT(t)
	before := map[[2]string]int32{}
	for _, v := range allVariants() {
		before[v] = env.DeploymentReplicas(g, v[0], v[1])
	}
	if err := s.prom.Stop(); err != nil {
		t.Fatal(err)
	}
	stoppedAt := time.Now()
	g.Eventually(func(g Gomega) {
		for _, v := range allVariants() {
			expectMetricsAvailable(g, v[0], v[1], metav1.ConditionFalse, llmdv1alpha1.ConditionReasonPrometheusError)
		}
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("every VA reported PrometheusError %v after Prometheus stopped", time.Since(stoppedAt).Round(time.Millisecond))
	// Missing data is not zero load: nothing goes down.
	g.Consistently(func(g Gomega) {
		for _, v := range allVariants() {
			g.Expect(env.DeploymentReplicas(g, v[0], v[1])).To(BeNumerically(">=", before[v]), "replicas of %s", v[1])
			g.Expect(env.DesiredReplicas(g, v[0], v[1])).To(BeNumerically(">=", before[v]), "desired replicas of %s", v[1])
		}
	}).WithTimeout(5 * time.Second).WithPolling(poll).Should(Succeed())

	if err := s.prom.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	restartedAt := time.Now()
	g.Eventually(func(g Gomega) {
		for _, v := range allVariants() {
			expectMetricsAvailable(g, v[0], v[1], metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
		}
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("every VA recovered %v after Prometheus restarted", time.Since(restartedAt).Round(time.Millisecond))
	for _, v := range allVariants() {
		g.Expect(env.DeploymentReplicas(g, v[0], v[1])).To(BeNumerically(">=", before[v]), "replicas of %s", v[1])
	}
}

func stepScaleToZero(t *testing.T, s *scenario) {
	g := NewWithT(t)
	if err := s.emu.SetPhases(nsA, modelA, []emulator.Phase{{Rate: 0}}); err != nil {
		t.Fatal(err)
	}
	idleSince := time.Now()
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DesiredReplicas(g, nsA, "a-h100"), env.DesiredReplicas(g, nsA, "a-l40s")}
	}).WithTimeout(timeout + retention).WithPolling(poll).Should(Equal([]int32{0, 0}))
	took := time.Since(idleSince)
	t.Logf("model A went to zero %v after its last request (retention %v)", took.Round(time.Millisecond), retention)
	g.Expect(took).To(BeNumerically(">=", retention-2*time.Second), "scaled to zero before the retention period passed")
	g.Expect(env.GetVA(g, nsA, "a-h100").Status.Decision.Reason).To(Equal(llmdv1alpha1.ReasonScaleToZero))
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, nsA, "a-h100"), env.DeploymentReplicas(g, nsA, "a-l40s")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{0, 0}))
	// B is untouched.
	g.Expect(env.DeploymentReplicas(g, nsB, "b-l40s")).To(Equal(int32(1)))
}

func stepQueriesPerRefresh(t *testing.T, s *scenario) {
	g := NewWithT(t)
	ctx := context.Background()
	var vas llmdv1alpha1.VariantAutoscalingList
	g.Expect(env.Client.List(ctx, &vas)).To(Succeed())
	g.Expect(vas.Items).To(HaveLen(len(variantsA) + len(variantsB)))
	for i := range extraGroups {
		m := extraModel(i)
		createGroup(t, nsScale, m,
			variant{name: m + "-h100", accelerator: "H100", replicas: 1},
			variant{name: m + "-a100", accelerator: "A100", replicas: 1},
			variant{name: m + "-l40s", accelerator: "L40S", replicas: 1})
	}
	g.Expect(env.Client.List(ctx, &vas)).To(Succeed())
	g.Expect(vas.Items).To(HaveLen(200))
	// Every new group is planned with its load from Prometheus.
	g.Eventually(func(g Gomega) {
		for i := range extraGroups {
			expectMetricsAvailable(g, nsScale, extraModel(i)+"-l40s", metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
		}
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed())
	rec := s.waitRefreshes(t, 2)
	t.Logf("200 VAs: %d PromQL queries per refresh (%d groups in Prometheus, refresh took %v); 2 VAs: %d",
		rec.requests, rec.stats.Groups, rec.stats.Duration, queriesAtTwoVAs)
	g.Expect(rec.stats.Err).NotTo(HaveOccurred())
	g.Expect(rec.requests).To(Equal(queriesAtTwoVAs))
	g.Expect(rec.requests).To(Equal(int64(rec.stats.Queries)))
	// B and the extra groups have one pod each. A is at zero: no pod, so no
	// vLLM series, but the gateway may still report its request counter
	// (a rate of 0), which also counts as a group with an arrival rate.
	g.Expect(rec.stats.Groups).To(BeElementOf(extraGroups+1, extraGroups+2))
	expectPodsScheduled(t)
}
