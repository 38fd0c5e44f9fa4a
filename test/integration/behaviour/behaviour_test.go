package behaviour

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// TestScaleToZeroAfterRetention steps the operator's clock over the
// retention period instead of waiting for it.
func TestScaleToZeroAfterRetention(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "stz", ModelID: "idle"}
	load.Set(key, busyLoad(10))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"idle-h100", "H100", 1}, {"idle-l40s", "L40S", 1}}, nil)
	g.Eventually(func(g Gomega) {
		total := env.DesiredReplicas(g, "stz", "idle-h100") + env.DesiredReplicas(g, "stz", "idle-l40s")
		g.Expect(total).To(BeNumerically(">", 0))
	}).WithTimeout(timeout).Should(Succeed())

	// No requests from now on. Within the retention the group keeps one
	// replica on its cheapest variant: it is not idle long enough.
	load.Set(key, modelgroup.Load{})
	expectDecision(t, "stz", "idle-l40s", 1, llmdv1alpha1.ReasonKeepCheapest)
	g.Expect(env.DesiredReplicas(g, "stz", "idle-h100")).To(BeZero())

	// The retention passes on the operator's clock; the next plan (here
	// triggered by the load source) scales the group to zero.
	clk.Step(idleRetention + time.Minute)
	load.Set(key, modelgroup.Load{})
	expectDecision(t, "stz", "idle-h100", 0, llmdv1alpha1.ReasonScaleToZero)
	expectDecision(t, "stz", "idle-l40s", 0, llmdv1alpha1.ReasonScaleToZero)
	// --actuation=scale: the Deployments follow.
	g.Eventually(func(g Gomega) int32 {
		return env.DeploymentReplicas(g, "stz", "idle-h100") + env.DeploymentReplicas(g, "stz", "idle-l40s")
	}).WithTimeout(timeout).Should(BeZero())
}

func TestKeepCheapestWhenScaleToZeroIsDisabled(t *testing.T) {
	key := modelgroup.Key{Namespace: "ktc", ModelID: "quiet"}
	load.Set(key, modelgroup.Load{RequestsInRetention: ptr.To(0.0)})
	createGroup(t, key.Namespace, key.ModelID, []variant{{"quiet-h100", "H100", 2}, {"quiet-a100", "A100", 2}, {"quiet-l40s", "L40S", 2}}, nil)
	expectDecision(t, "ktc", "quiet-l40s", 1, llmdv1alpha1.ReasonKeepCheapest)
	// The dearer variants go to their minimum.
	NewWithT(t).Eventually(func(g Gomega) []int32 {
		return []int32{env.DesiredReplicas(g, "ktc", "quiet-h100"), env.DesiredReplicas(g, "ktc", "quiet-a100")}
	}).WithTimeout(timeout).Should(Equal([]int32{0, 0}))
	NewWithT(t).Eventually(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, "ktc", "quiet-h100"), env.DeploymentReplicas(g, "ktc", "quiet-a100"), env.DeploymentReplicas(g, "ktc", "quiet-l40s")}
	}).WithTimeout(timeout).Should(Equal([]int32{0, 0, 1}))
}

func TestMissingLoadHoldsReplicas(t *testing.T) {
	g := NewWithT(t)
	// No load is ever set for this group: the source has no metrics.
	createGroup(t, "blind", "blind", []variant{{"blind-h100", "H100", 3}, {"blind-l40s", "L40S", 2}}, nil)
	expectDecision(t, "blind", "blind-h100", 3, llmdv1alpha1.ReasonMetricsMissing)
	expectDecision(t, "blind", "blind-l40s", 2, llmdv1alpha1.ReasonMetricsMissing)
	va := env.GetVA(g, "blind", "blind-h100")
	expectCondition(g, va, llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsMissing)
	expectCondition(g, va, llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsUnavailable)
	g.Consistently(func(g Gomega) []int32 {
		return []int32{env.DeploymentReplicas(g, "blind", "blind-h100"), env.DeploymentReplicas(g, "blind", "blind-l40s")}
	}).WithTimeout(2 * time.Second).Should(Equal([]int32{3, 2}))

	// Metrics come back: the condition recovers.
	load.Set(modelgroup.Key{Namespace: "blind", ModelID: "blind"}, busyLoad(1))
	g.Eventually(func(g Gomega) {
		expectCondition(g, env.GetVA(g, "blind", "blind-h100"), llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound)
	}).WithTimeout(timeout).Should(Succeed())
}

func TestInvalidConfigMapKeepsTheLastGoodConfig(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	good := op.Store.Config().UnitCosts["H100"].Cost
	err := framework.PatchConfigMapKey(ctx, env.Client, config.UnitCostsConfigMapName, "H100", `{"device": "x", "cost": "-5"}`)
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(env.Client.List(ctx, &events, client.InNamespace(framework.ConfigNamespace))).To(Succeed())
		found := false
		for _, e := range events.Items {
			if e.Regarding.Name == config.UnitCostsConfigMapName && e.Reason == "ConfigInvalid" && e.Type == "Warning" {
				found = true
				g.Expect(e.Note).To(ContainSubstring("H100"))
			}
		}
		g.Expect(found).To(BeTrue(), "a ConfigInvalid Event on the ConfigMap")
	}).WithTimeout(timeout).Should(Succeed())
	g.Expect(op.Store.Config().UnitCosts["H100"].Cost).To(Equal(good), "the last good cost stays in force")
	g.Expect(op.Store.Valid(config.UnitCostsConfigMapName)).To(BeFalse())

	// Fixing it applies the new value.
	g.Expect(framework.PatchConfigMapKey(ctx, env.Client, config.UnitCostsConfigMapName, "H100", framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100))).To(Succeed())
	g.Eventually(func() bool { return op.Store.Valid(config.UnitCostsConfigMapName) }).WithTimeout(timeout).Should(BeTrue())
}

func TestPreviewNeverActuates(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "preview", ModelID: "preview"}
	load.Set(key, busyLoad(200))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"preview-h100", "H100", 1}},
		func(w *framework.VAWrapper) { w.Mode(llmdv1alpha1.ModePreview) })
	g.Eventually(func(g Gomega) int32 { return env.DesiredReplicas(g, "preview", "preview-h100") }).WithTimeout(timeout).Should(BeNumerically(">", 1))
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, "preview", "preview-h100") }).
		WithTimeout(2 * time.Second).Should(Equal(int32(1)))
	// Preview hands the workload back: its series carries the workload's own
	// replicas, so an HPA or KEDA keeps them.
	g.Expect(framework.SeriesOf(op.Metrics.DesiredReplicas, "variant_name", "preview-h100")).To(Equal(1), "a Preview VA keeps its wva_desired_replicas")
	value, published := op.Metrics.DesiredReplicas.Value(controller.VariantSeries{
		Namespace: "preview", Variant: "preview-h100", TargetKind: "Deployment", TargetName: "preview-h100",
		Accelerator: "H100", Model: "preview",
	})
	g.Expect(published).To(BeTrue(), "a Preview VA keeps its wva_desired_replicas")
	g.Expect(value).To(Equal(1.0), "the Preview VA's series is the workload's replicas")
}

func TestScaleActuationFollowsTheLoad(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "busy", ModelID: "busy"}
	load.Set(key, busyLoad(100))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"busy-h100", "H100", 1}, {"busy-l40s", "L40S", 1}}, nil)
	// The decision may move while the real pods come up (ready replicas
	// feed the plan): the Deployments follow whatever it is.
	g.Eventually(func(g Gomega) {
		total := env.DesiredReplicas(g, "busy", "busy-h100") + env.DesiredReplicas(g, "busy", "busy-l40s")
		g.Expect(total).To(BeNumerically(">", 2))
		g.Expect(env.DeploymentReplicas(g, "busy", "busy-h100") + env.DeploymentReplicas(g, "busy", "busy-l40s")).To(Equal(total))
	}).WithTimeout(timeout).Should(Succeed())
}

func TestConflictingVAsOnOneTarget(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := modelgroup.Key{Namespace: "shared", ModelID: "shared"}
	load.Set(key, busyLoad(5))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"shared-a", "H100", 1}}, nil)
	expectDecisionSet(t, "shared", "shared-a")
	// A second, newer VA on the same Deployment.
	g.Expect(env.Client.Create(ctx, framework.MakeVA("shared-b", "shared").Model("shared").Accelerator("L40S").Target("shared-a").Obj())).To(Succeed())
	g.Eventually(func(g Gomega) {
		b := env.GetVA(g, "shared", "shared-b")
		expectCondition(g, b, llmdv1alpha1.ConditionTargetResolved, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonTargetConflict)
		expectCondition(g, b, llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonTargetConflict)
		g.Expect(b.Status.DesiredReplicas).To(BeNil(), "the newer VA is left alone")
		expectCondition(g, env.GetVA(g, "shared", "shared-a"), llmdv1alpha1.ConditionTargetResolved, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonTargetFound)
	}).WithTimeout(timeout).Should(Succeed())
}

func TestMissingTargetStillPlansTheRest(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := modelgroup.Key{Namespace: "orphan", ModelID: "orphan"}
	load.Set(key, busyLoad(5))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"orphan-ok", "H100", 1}}, nil)
	g.Expect(env.Client.Create(ctx, framework.MakeVA("orphan-lost", "orphan").Model("orphan").Target("does-not-exist").Obj())).To(Succeed())
	g.Eventually(func(g Gomega) {
		lost := env.GetVA(g, "orphan", "orphan-lost")
		expectCondition(g, lost, llmdv1alpha1.ConditionTargetResolved, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonTargetNotFound)
		ok := env.GetVA(g, "orphan", "orphan-ok")
		expectCondition(g, ok, llmdv1alpha1.ConditionOptimized, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonSucceeded)
		g.Expect(ok.Status.ObservedGeneration).To(Equal(ok.Generation))
	}).WithTimeout(timeout).Should(Succeed())
}

func TestGlobalPassRepairsDriftAndWritesNothingOtherwise(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	key := modelgroup.Key{Namespace: "drift", ModelID: "drift"}
	load.Set(key, busyLoad(20))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"drift-h100", "H100", 1}, {"drift-a100", "A100", 1}}, nil)
	// Converged: the Deployments run what the statuses ask for.
	var want int32
	g.Eventually(func(g Gomega) {
		for _, name := range []string{"drift-h100", "drift-a100"} {
			g.Expect(env.DeploymentReplicas(g, "drift", name)).To(Equal(env.DesiredReplicas(g, "drift", name)))
		}
		want = env.DesiredReplicas(g, "drift", "drift-h100")
	}).WithTimeout(timeout).Should(Succeed())

	// Nothing drifted: the pass enqueues no group and writes nothing. Groups
	// of earlier tests may still be settling, so repeat until a pass is clean.
	g.Eventually(func(g Gomega) {
		writes := testutilValue(op.Metrics.StatusWrites)
		drifted, err := op.GlobalPass.Run(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(drifted).To(BeEmpty())
		g.Consistently(func() float64 { return testutilValue(op.Metrics.StatusWrites) }).
			WithTimeout(time.Second).Should(Equal(writes), "status writes after a clean pass")
	}).WithTimeout(timeout).Should(Succeed())

	// A status edited by hand is a drift the pass finds and repairs.
	va := env.GetVA(g, "drift", "drift-h100")
	va.Status.DesiredReplicas = ptr.To(want + 7)
	g.Expect(env.Client.Status().Update(ctx, va)).To(Succeed())
	g.Eventually(func(g Gomega) {
		drifted, err := op.GlobalPass.Run(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(drifted).To(ContainElement(key))
	}).WithTimeout(timeout).Should(Succeed())
	// The repair re-plans the group: the hand-edited value is gone and the
	// status again says what the workload runs. (The plan itself may have
	// moved on since convergence, e.g. once a scale-up limit's period ended,
	// so the test does not pin the earlier number.)
	g.Eventually(func(g Gomega) {
		got := env.DesiredReplicas(g, "drift", "drift-h100")
		g.Expect(got).NotTo(Equal(want+7), "the hand-edited desired replicas of drift-h100 were not repaired")
		for _, name := range []string{"drift-h100", "drift-a100"} {
			g.Expect(env.DeploymentReplicas(g, "drift", name)).To(Equal(env.DesiredReplicas(g, "drift", name)))
		}
	}).WithTimeout(timeout).Should(Succeed())
}

// expectDecisionSet waits for a planned status and returns its desired replicas.
func expectDecisionSet(t *testing.T, ns, name string) int32 {
	t.Helper()
	var desired int32
	NewWithT(t).Eventually(func(g Gomega) {
		va := env.GetVA(g, ns, name)
		g.Expect(va.Status.DesiredReplicas).NotTo(BeNil())
		desired = *va.Status.DesiredReplicas
	}).WithTimeout(timeout).Should(Succeed())
	return desired
}
