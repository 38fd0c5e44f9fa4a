//go:build linux

package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Namespaces (one model each) and retention periods of the cases.
const (
	nsResume, retentionResume   = "zero-resume", 20 * time.Second
	nsCreatedAtZero             = "zero-created-at-zero"
	nsNewModel, retentionNew    = "zero-new-model", 30 * time.Second
	nsRestart, retentionRestart = "zero-restart", 60 * time.Second
	nsPartial                   = "zero-partial"
	nsLatency                   = "zero-latency"
	// latencyTrials is the number of wake-ups timed.
	latencyTrials = 20
	// wakeDeadline is the bound from the first waiting request to
	// the /scale patch.
	wakeDeadline = 2 * time.Second
	// partialRate needs 3 replicas of the test profile at 512/128 tokens and
	// the SLO (about 13.7 req/s each); two thirds of it need 2.
	partialRate   = 36
	partialOutage = 2 * time.Minute
	restartAfter  = 18 * time.Second // 0.3 × retentionRestart: "three minutes" of ten
)

func latencyModel(i int) string { return "latency-" + string(rune('a'+i)) }

// TestScaleFromAndToZero runs the five cases of scale to and from zero
// against a real Prometheus, the emulator's gateway and pods, and the
// operator with the gateway fast path. Cases 1, 2, 3 and 5 and the latency
// trials run in parallel; the Prometheus restart runs last, alone, since it
// wipes the shared Prometheus.
func TestScaleFromAndToZero(t *testing.T) {
	began := time.Now()
	namespaces := []string{nsResume, nsCreatedAtZero, nsNewModel, nsRestart, nsPartial}
	entries := map[string]string{
		"resume":  scaleToZeroEntry(nsResume, zeroModel, true, retentionResume),
		"new":     scaleToZeroEntry(nsNewModel, zeroModel, true, retentionNew),
		"restart": scaleToZeroEntry(nsRestart, zeroModel, true, retentionRestart),
	}
	var latency []emulator.ModelSchedule
	zero := 0
	for i := range latencyTrials {
		m := latencyModel(i)
		latency = append(latency, emulator.ModelSchedule{Namespace: nsLatency, Model: m, Replicas: &zero,
			Phases: []emulator.Phase{{Rate: 0}}})
		entries[m] = scaleToZeroEntry(nsLatency, m, true, time.Hour)
	}
	// The partial-data model is served without a gateway: its arrival rate
	// comes from the pods' metrics alone.
	z := startZeroEnv(t, namespaces, []string{nsPartial}, entries, latency...)
	t.Logf("set-up took %v", time.Since(began).Round(time.Millisecond))

	t.Run("parallel", func(t *testing.T) {
		t.Run("scale to zero, then traffic resumes", func(t *testing.T) { t.Parallel(); caseResume(t, z) })
		t.Run("Deployment created at zero, scale to zero off", func(t *testing.T) { t.Parallel(); caseCreatedAtZero(t, z) })
		t.Run("new model keeps one replica for the retention period", func(t *testing.T) { t.Parallel(); caseNewModel(t, z) })
		t.Run("a pod not scraped under steady load", func(t *testing.T) { t.Parallel(); casePartial(t, z) })
		t.Run("wake-up latency", func(t *testing.T) { t.Parallel(); caseLatency(t, z) })
	})
	expectPodsScheduled(t)
	if !t.Failed() {
		t.Run("Prometheus restarted with an empty storage", func(t *testing.T) { caseRestart(t, z) })
	}
	t.Logf("fast path: %d polls, %d HTTP requests (%d endpoints)", z.polls.Load(), z.pollRequests.Load(), len(namespaces))
	t.Logf("the scale-to-zero cases took %v", time.Since(began).Round(time.Millisecond))
}

// caseResume: after the retention period without requests the group goes
// to zero; a request then arrives: the first replica is requested within
// 2s of it (emulator clock), and the queue drains once the pod is ready.
func caseResume(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	createVariants(t, nsResume, 1, 0, 4)
	if err := z.emu.SetPhases(nsResume, zeroModel, []emulator.Phase{{Rate: 2}}); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsResume, nsResume+"-l40s", metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
		g.Expect(env.GetVA(g, nsResume, nsResume+"-l40s").Status.Decision.Reason).NotTo(Equal(llmdv1alpha1.ReasonScaleToZero))
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	// Serve for a while, then no more requests.
	g.Eventually(func() float64 { n, _ := z.emu.Requests(nsResume, zeroModel); return n }).
		WithTimeout(timeout).WithPolling(poll).Should(BeNumerically(">=", 20))
	if err := z.emu.SetPhases(nsResume, zeroModel, []emulator.Phase{{Rate: 0}}); err != nil {
		t.Fatal(err)
	}
	lastRequest := time.Now()
	g.Eventually(func(g Gomega) int32 { return totalReplicas(g, nsResume) }).
		WithTimeout(retentionResume + timeout).WithPolling(poll).Should(BeZero())
	idle := time.Since(lastRequest)
	t.Logf("scaled to zero %v after the last request (retention %v)", idle.Round(time.Millisecond), retentionResume)
	g.Expect(idle).To(BeNumerically(">=", retentionResume-time.Second), "scaled to zero before the retention period passed")
	g.Eventually(func(g Gomega) llmdv1alpha1.DecisionReason { return decisionReason(g, nsResume, nsResume+"-l40s") }).
		WithTimeout(timeout).WithPolling(poll).Should(Equal(llmdv1alpha1.ReasonScaleToZero))

	// The emulator has removed the pod (it follows the ready pods).
	g.Eventually(func(g Gomega) int {
		s, err := z.emu.Gateway(nsResume, zeroModel)
		g.Expect(err).NotTo(HaveOccurred())
		return s.Pods
	}).WithTimeout(timeout).WithPolling(50 * time.Millisecond).Should(BeZero())
	// A request arrives and waits at the gateway.
	w, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	if err := z.emu.Send(nsResume, zeroModel, 1); err != nil {
		t.Fatal(err)
	}
	gs, err := z.emu.Gateway(nsResume, zeroModel)
	if err != nil {
		t.Fatal(err)
	}
	g.Expect(gs.Waiting).To(Equal(1.0))
	waitsBefore := len(gs.Waits) // requests that waited while the first pod started
	patched, err := firstScaleUp(context.Background(), w, nsResume, "", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wake := patched.Sub(gs.WaitingSince)
	t.Logf("first replica requested %v after the first waiting request", wake.Round(time.Millisecond))
	g.Expect(wake).To(BeNumerically("<=", wakeDeadline))
	// ScaleFromZero decided it; the next plans hold the replica while the
	// new pod reports no request shape yet (MetricsMissing).
	g.Eventually(func(g Gomega) llmdv1alpha1.DecisionReason { return decisionReason(g, nsResume, nsResume+"-l40s") }).
		WithTimeout(timeout).WithPolling(poll).Should(BeElementOf(llmdv1alpha1.ReasonScaleFromZero, llmdv1alpha1.ReasonMetricsMissing))
	// The pod is ready startupDelay later and takes the waiting request.
	g.Eventually(func(g Gomega) {
		s, err := z.emu.Gateway(nsResume, zeroModel)
		g.Expect(err).NotTo(HaveOccurred())
		va := env.GetVA(g, nsResume, nsResume+"-l40s")
		g.Expect(s.Waiting).To(BeZero(), "gateway %+v; replicas %d; %s: %+v %+v", s, totalReplicas(g, nsResume),
			va.Name, va.Status.Decision, va.Status.Conditions)
		g.Expect(s.ReadyPods).To(BeNumerically(">=", 1))
		g.Expect(s.Waits).To(HaveLen(waitsBefore + 1))
	}).WithTimeout(startupDelay + timeout).WithPolling(poll).Should(Succeed())
	s, _ := z.emu.Gateway(nsResume, zeroModel)
	waited := s.Waits[waitsBefore]
	t.Logf("the queue drained: the request waited %v (start-up delay %v)", waited.Round(time.Millisecond), startupDelay)
	g.Expect(waited).To(BeNumerically(">=", startupDelay))
}

// caseCreatedAtZero: Deployments created at zero, scale to zero off, no
// traffic: the cheapest variant gets one replica.
func caseCreatedAtZero(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	created := time.Now()
	createVariants(t, nsCreatedAtZero, 0, 0, 4)
	g.Eventually(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, nsCreatedAtZero, nsCreatedAtZero+"-l40s"), env.DeploymentReplicas(g, nsCreatedAtZero, nsCreatedAtZero+"-h100")}
	}).WithTimeout(timeout).WithPolling(poll).Should(Equal([]int32{1, 0}))
	t.Logf("the cheapest variant got its replica %v after creation", time.Since(created).Round(time.Millisecond))
	// KeepCheapest gave it (the status is written after the /scale patch);
	// later plans without metrics hold it (MetricsMissing).
	g.Eventually(func(g Gomega) llmdv1alpha1.DecisionReason {
		return decisionReason(g, nsCreatedAtZero, nsCreatedAtZero+"-l40s")
	}).WithTimeout(timeout).WithPolling(poll).Should(
		BeElementOf(llmdv1alpha1.ReasonKeepCheapest, llmdv1alpha1.ReasonMetricsMissing))
	g.Consistently(func(g Gomega) int32 { return totalReplicas(g, nsCreatedAtZero) }).
		WithTimeout(5 * time.Second).WithPolling(poll).Should(Equal(int32(1)))
}

// caseNewModel: a new model with scale to zero on and no traffic keeps one
// replica until the retention period after its creation, then goes to zero.
func caseNewModel(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	created := time.Now()
	createVariants(t, nsNewModel, 1, 0, 4)
	g.Consistently(func(g Gomega) int32 { return totalReplicas(g, nsNewModel) }).
		WithTimeout(retentionNew - 2*time.Second).WithPolling(poll).Should(Equal(int32(1)))
	g.Eventually(func(g Gomega) int32 { return totalReplicas(g, nsNewModel) }).
		WithTimeout(timeout).WithPolling(poll).Should(BeZero())
	took := time.Since(created)
	t.Logf("the new model went to zero %v after its creation (retention %v)", took.Round(time.Millisecond), retentionNew)
	// The operator counts from the VA's creationTimestamp, which the API
	// server truncates to the second: it may be up to 1 s before created.
	g.Expect(took).To(BeNumerically(">=", retentionNew-time.Second))
	g.Eventually(func(g Gomega) llmdv1alpha1.DecisionReason { return decisionReason(g, nsNewModel, nsNewModel+"-l40s") }).
		WithTimeout(timeout).WithPolling(poll).Should(Equal(llmdv1alpha1.ReasonScaleToZero))
}

// casePartial: one of three pods is not scraped for two minutes under a
// steady load that needs three replicas: the reading is MetricsStale and
// nothing scales down, during the outage nor after.
func casePartial(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	createVariants(t, nsPartial, 3, 0, 3)
	if err := z.emu.SetPhases(nsPartial, zeroModel, []emulator.Phase{{Rate: partialRate, PromptTokens: 512, GenerationTokens: 128}}); err != nil {
		t.Fatal(err)
	}
	l40s := nsPartial + "-l40s"
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsPartial, l40s, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
		g.Expect(env.DesiredReplicas(g, nsPartial, l40s)).To(Equal(int32(3)))
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	// Steady: 3 replicas for a few refreshes.
	g.Consistently(func(g Gomega) int32 { return env.DesiredReplicas(g, nsPartial, l40s) }).
		WithTimeout(6 * time.Second).WithPolling(poll).Should(Equal(int32(3)))

	if err := z.emu.SetPodScrapeFailing(nsPartial, zeroModel, "pod-1", true); err != nil {
		t.Fatal(err)
	}
	failed := time.Now()
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsPartial, l40s, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsStale)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("MetricsStale %v after the pod's scrape began failing", time.Since(failed).Round(time.Millisecond))
	g.Consistently(func(g Gomega) {
		g.Expect(env.DeploymentReplicas(g, nsPartial, l40s)).To(Equal(int32(3)))
		g.Expect(env.DesiredReplicas(g, nsPartial, l40s)).To(Equal(int32(3)))
	}).WithTimeout(partialOutage - time.Since(failed)).WithPolling(time.Second).Should(Succeed())
	if err := z.emu.SetPodScrapeFailing(nsPartial, zeroModel, "pod-1", false); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsPartial, l40s, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, nsPartial, l40s) }).
		WithTimeout(2 * zeroRateWindow).WithPolling(poll).Should(Equal(int32(3)))
}

// caseLatency times latencyTrials wake-ups from zero: each model of the
// latency namespace has one variant at zero, planned; one request arrives
// at the gateway for it, and the time to its Deployment's /scale patch is
// taken from the watch (the emulator's clock is the wall clock).
func caseLatency(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	ctx := context.Background()
	for i := range latencyTrials {
		m := latencyModel(i)
		va := framework.MakeVA(m, nsLatency).Model(m).Accelerator("L40S").Max(2)
		if err := framework.CreateAll(ctx, env.Client, gpuDeployment(m, nsLatency, m, "L40S", 0), va.Obj()); err != nil {
			t.Fatal(err)
		}
	}
	w, err := client.NewWithWatch(env.Config, client.Options{Scheme: framework.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for i := range latencyTrials {
		m := latencyModel(i)
		// The group is planned at zero, and stays there without traffic.
		g.Eventually(func(g Gomega) {
			va := env.GetVA(g, nsLatency, m)
			g.Expect(va.Status.DesiredReplicas).NotTo(BeNil())
			g.Expect(*va.Status.DesiredReplicas).To(BeZero())
		}).WithTimeout(timeout).WithPolling(50 * time.Millisecond).Should(Succeed())
		g.Expect(env.DeploymentReplicas(g, nsLatency, m)).To(BeZero())
		if err := z.emu.Send(nsLatency, m, 1); err != nil {
			t.Fatal(err)
		}
		gs, err := z.emu.Gateway(nsLatency, m)
		if err != nil {
			t.Fatal(err)
		}
		patched, err := firstScaleUp(ctx, w, nsLatency, m, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, patched.Sub(gs.WaitingSince))
	}
	slices.Sort(waits)
	p50, p99 := waits[len(waits)/2], waits[len(waits)-1]
	t.Logf("wake-up from the first waiting request to the /scale patch over %d trials: p50 %v, p99 %v (the largest), min %v; all %v",
		len(waits), p50.Round(time.Millisecond), p99.Round(time.Millisecond), waits[0].Round(time.Millisecond), waits)
	g.Expect(p99).To(BeNumerically("<=", wakeDeadline))
}

// caseRestart: the last request at tLast, Prometheus restarted with an
// empty storage 0.3 retention periods later: no scale to zero before a
// retention period after the last request (in fact not before a retention
// period of new data exists).
func caseRestart(t *testing.T, z *zeroEnv) {
	g := NewWithT(t)
	createVariants(t, nsRestart, 1, 0, 4)
	if err := z.emu.SetPhases(nsRestart, zeroModel, []emulator.Phase{{Rate: 2}}); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		expectMetricsAvailable(g, nsRestart, nsRestart+"-l40s", metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	g.Eventually(func() float64 { n, _ := z.emu.Requests(nsRestart, zeroModel); return n }).
		WithTimeout(timeout).WithPolling(poll).Should(BeNumerically(">=", 20))
	if err := z.emu.SetPhases(nsRestart, zeroModel, []emulator.Phase{{Rate: 0}}); err != nil {
		t.Fatal(err)
	}
	lastRequest := time.Now()
	// Replicas stay until the restart.
	g.Consistently(func(g Gomega) int32 { return totalReplicas(g, nsRestart) }).
		WithTimeout(restartAfter).WithPolling(poll).Should(Equal(int32(1)))
	if err := z.prom.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := z.prom.Wipe(); err != nil {
		t.Fatal(err)
	}
	if err := z.prom.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	t.Logf("Prometheus restarted with an empty storage %v after the last request", restarted.Sub(lastRequest).Round(time.Millisecond))
	g.Consistently(func(g Gomega) int32 { return totalReplicas(g, nsRestart) }).
		WithTimeout(time.Until(lastRequest.Add(retentionRestart))).WithPolling(poll).Should(Equal(int32(1)))
	g.Eventually(func(g Gomega) int32 { return totalReplicas(g, nsRestart) }).
		WithTimeout(2 * retentionRestart).WithPolling(poll).Should(BeZero())
	t.Logf("scaled to zero %v after the last request, %v after the restart (retention %v)",
		time.Since(lastRequest).Round(time.Millisecond), time.Since(restarted).Round(time.Millisecond), retentionRestart)
	g.Expect(time.Since(restarted)).To(BeNumerically(">=", retentionRestart-time.Second),
		"scaled to zero before a retention period of data existed again")
}
