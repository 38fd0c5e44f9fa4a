//go:build linux

package e2e

// Issue 15: a VA without spec.profile learns its profile from the per-pod
// vLLM series of the emulator, read through a real Prometheus by the
// operator's Prometheus source with PodWindows on. Its replicas are held
// (ProfileLearned=False) until the estimate is good enough at the
// operating point; then ProfileLearned=True, status.learnedProfile is close
// to the emulator's true profile and the VA is planned with it.

import (
	"context"
	"fmt"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	nsLearn, modelLearn, vaLearn = "e2e-learn", "model-learn", "learn"
	// learnPeakRate puts the one pod at a batch of about 40, far above half
	// the operating batch under the ITL SLO below (the coverage rule).
	learnPeakRate, learnLowRate = 6, 1
	learnRampTime               = 30 * time.Second
	// learnTimeout bounds the learning: the ramps, then a few windows.
	learnTimeout = 240 * time.Second
)

func TestLearnedProfileWithPrometheus(t *testing.T) {
	began := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g := NewWithT(t)
	// An L40S-like server, near the weak default prior of L40S (a prior
	// is a rough guess: within a factor of two).
	truth := emulator.Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	// Its pods are the Deployment's ready pods.
	zero := 0
	emu, err := emulator.New(emulator.Schedule{Models: []emulator.ModelSchedule{{Namespace: nsLearn, Model: modelLearn, Profile: &truth,
		Replicas: &zero, Phases: []emulator.Phase{{Rate: 1, PromptTokens: 512, GenerationTokens: 128}}}}},
		emulator.WithReplicaSource(ready.source))
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(ctx, t, vllmJob(serveEmulator(ctx, t, emu)))

	if err := framework.CreateNamespace(ctx, env.Client, framework.ConfigNamespace); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:         "2s",
			config.KeyGlobalPassInterval:        "1h",
			config.KeyStabilizationWindow:       "0s",
			config.KeyPrometheusBaseURL:         prom.URL(),
			config.KeyPrometheusStaleness:       "10s",
			config.KeyPrometheusQueryTimeout:    "2s",
			config.KeyLoadChangeTolerance:       "0.1",
			config.KeyScaleToZeroDefaultEnabled: "false",
		},
		config.UnitCostsConfigMapName: {"L40S": framework.UnitCost("NVIDIA-L40S", 30)},
		// ITL 30 ms: a replica of the emulator's profile runs at a batch
		// of about 10 at its capacity.
		config.ServiceClassesConfigMapName: {"premium.yaml": framework.ServiceClass("Premium", 1, 1000, 30, modelLearn)},
	} {
		if err := framework.ApplyConfigMap(ctx, env.Client, name, data); err != nil {
			t.Fatal(err)
		}
	}
	store := config.NewStore(nil)
	source, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: store, RateWindow: rateWindow, PodWindows: true, ProfileWindow: rateWindow})
	if err != nil {
		t.Fatal(err)
	}
	store.Subscribe(source.OnConfigChange)
	op, err := env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Store: store, Load: source, Actuation: controller.ActuationScale,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})

	// The VA without spec.profile on a one-replica Deployment.
	if err := framework.CreateNamespace(ctx, env.Client, nsLearn); err != nil {
		t.Fatal(err)
	}
	va := framework.MakeVA(vaLearn, nsLearn).Model(modelLearn).Accelerator("L40S").Max(4).Obj()
	va.Spec.Profile = llmdv1alpha1.Profile{}
	dep := gpuDeployment(vaLearn, nsLearn, modelLearn, "L40S", 1)
	if err := framework.CreateAll(ctx, env.Client, dep, va); err != nil {
		t.Fatal(err)
	}
	// The other e2e tests count every VA of the cluster: leave nothing behind.
	t.Cleanup(func() {
		for _, o := range []client.Object{va, dep} {
			if err := env.Client.Delete(context.Background(), o); err != nil {
				t.Errorf("deleting %s: %v", o.GetName(), err)
			}
		}
	})
	condition := func(g Gomega, condType string) *metav1.Condition {
		c := meta.FindStatusCondition(env.GetVA(g, nsLearn, vaLearn).Status.Conditions, condType)
		g.Expect(c).NotTo(BeNil(), "%s of %s", condType, vaLearn)
		return c
	}

	// At first: held, and the status says why.
	g.Eventually(func(g Gomega) {
		c := condition(g, llmdv1alpha1.ConditionOptimized)
		g.Expect(c.Reason).To(Equal(llmdv1alpha1.ConditionReasonProfileInvalid), c.Message)
		g.Expect(c.Message).To(ContainSubstring("replicas are held"))
		g.Expect(condition(g, llmdv1alpha1.ConditionProfileLearned).Status).To(Equal(metav1.ConditionFalse))
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	g.Expect(env.DeploymentReplicas(g, nsLearn, vaLearn)).To(Equal(int32(1)), "held replicas")

	// The load ramps up and down, so that the pod's batch sweeps the
	// operating range in every few windows (the decode relation), and the
	// prompts alternate, so that the prompt tokens admitted per step spread
	// (the prefill relation). The windows do not overlap: each is one
	// observation, and a steady load would pin only one batch size.
	var phases []emulator.Phase
	for i := range 5 {
		rate, prompt := float64(learnPeakRate), 512.0
		if i%2 == 1 {
			rate, prompt = learnLowRate, 1024
		}
		phases = append(phases, emulator.Phase{Duration: emulator.Duration{Duration: learnRampTime}, Rate: rate, PromptTokens: prompt, Ramp: true})
	}
	phases = append(phases, emulator.Phase{Rate: 4, PromptTokens: 1024})
	if err := emu.SetPhases(nsLearn, modelLearn, phases); err != nil {
		t.Fatal(err)
	}
	rampAt := time.Now()
	var last string
	g.Eventually(func(g Gomega) {
		c := condition(g, llmdv1alpha1.ConditionProfileLearned)
		if c.Message != last {
			last = c.Message
			values := ""
			if lp := env.GetVA(g, nsLearn, vaLearn).Status.LearnedProfile; lp != nil {
				values = fmt.Sprintf(" [α=%s β=%s γ=%s δ=%s]", lp.Decode.Alpha, lp.Decode.Beta, lp.Prefill.Gamma, lp.Prefill.Delta)
			}
			t.Logf("%5.1fs ProfileLearned=%s %s: %s%s", time.Since(rampAt).Seconds(), c.Status, c.Reason, c.Message, values)
		}
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
	}).WithTimeout(learnTimeout).WithPolling(time.Second).Should(Succeed())
	t.Logf("ProfileLearned=True %v after the ramp began", time.Since(rampAt).Round(time.Millisecond))

	// The learned profile is close to the emulator's, and the VA is
	// planned with it.
	got := env.GetVA(g, nsLearn, vaLearn)
	lp := got.Status.LearnedProfile
	g.Expect(lp).NotTo(BeNil())
	est, err := learning.FromStatus(lp)
	g.Expect(err).NotTo(HaveOccurred())
	t.Logf("learned α=%s β=%s γ=%s δ=%s (true %g %g %g %g) from %d decode and %d prefill windows, batch %s to %s",
		lp.Decode.Alpha, lp.Decode.Beta, lp.Prefill.Gamma, lp.Prefill.Delta, truth.Alpha, truth.Beta, truth.Gamma, truth.Delta,
		lp.DecodeSamples, lp.PrefillSamples, lp.BatchMin, lp.BatchMax)
	// A replica's capacity under the SLO, bound here by the ITL (batch about
	// 10), is what the plan is made of. Learned from windows of 10 s through
	// Prometheus, this capacity is several times as sensitive as the step
	// times, and at the first Usable moment its standard error may be up to
	// the readiness rule's 5%: in ten runs the learned one was 0.925 to
	// 1.13 of the true one. (Before the batch was read at the running
	// dispersion, a bias, α high and β low from the gauge's scatter, kept it
	// at 0.78 to 0.93.) Checked: within 20% of the true one, about four of
	// its standard errors.
	slo := allocator.SLO{TTFT: 1000, ITL: 30}
	trueParams := estimator.Params{Alpha: truth.Alpha, Beta: truth.Beta, Gamma: truth.Gamma, Delta: truth.Delta}
	capacity := learning.OperatingPoint(trueParams, truth.MaxBatchSize, slo, 512, 128).Capacity
	learnedCapacity, trueCapacity := capacity(est.Params), capacity(trueParams)
	t.Logf("capacity under the SLO at 512/128 tokens: learned %.3f, true %.3f req/s (ratio %.3f)",
		learnedCapacity, trueCapacity, learnedCapacity/trueCapacity)
	g.Expect(learnedCapacity).To(And(BeNumerically("<=", 1.2*trueCapacity), BeNumerically(">=", 0.8*trueCapacity)), "capacity under the SLO")
	// The decode step over the operating range within 15%, at batch 1
	// within 25%: noise in the batch read from 10 s windows biases β low
	// and α high (errors in variables, docs/learned-profiles.md). The
	// prefill where it is observed (a step admitting one request) within
	// 15%; the allocator's Tp(n) = γ + δ·in·n beyond it extrapolates δ,
	// which the capacity here hardly depends on.
	for _, n := range []float64{1, 10, 30} {
		tolerance := 0.15
		if n == 1 {
			tolerance = 0.25
		}
		g.Expect(est.Params.Decode(n)).To(BeNumerically("~", truth.Alpha+truth.Beta*n, tolerance*(truth.Alpha+truth.Beta*n)), "decode step at batch %v", n)
	}
	g.Expect(est.Params.Prefill(1, 512)).To(BeNumerically("~", truth.Gamma+truth.Delta*512, 0.15*(truth.Gamma+truth.Delta*512)), "prefill of one request")
	g.Eventually(func(g Gomega) {
		c := condition(g, llmdv1alpha1.ConditionOptimized)
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s", c.Reason, c.Message)
		g.Expect(env.GetVA(g, nsLearn, vaLearn).Status.DesiredReplicas).NotTo(BeNil())
	}).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	t.Logf("the learned-profile scenario took %v", time.Since(began).Round(time.Millisecond))
}
