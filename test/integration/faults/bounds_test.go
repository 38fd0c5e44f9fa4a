package faults

import (
	"context"
	"fmt"
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Defect 1: unbounded actions. A replica-bound typo is refused by the API
// server with the field named.
func TestDefect1APIRefusesAbsurdReplicaBounds(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	check := othersUnchanged(t, "typo")
	g.Expect(framework.CreateNamespace(ctx, env.Client, "typo")).To(Succeed())
	err := env.Client.Create(ctx, framework.MakeVA("typo", "typo").Model("typo").Min(100000).Obj())
	g.Expect(err).To(MatchError(ContainSubstring("spec.minReplicas")))
	g.Expect(err).To(MatchError(ContainSubstring("10000")))
	err = env.Client.Create(ctx, framework.MakeVA("typo", "typo").Model("typo").Max(100000).Obj())
	g.Expect(err).To(MatchError(ContainSubstring("spec.maxReplicas")))
	err = env.Client.Create(ctx, framework.MakeVA("typo", "typo").Model("typo").Min(7).Max(5).Obj())
	g.Expect(err).To(MatchError(ContainSubstring("maxReplicas must be greater than or equal to minReplicas")))
	err = env.Client.Create(ctx, framework.MakeVA("typo", "typo").Model("typo").Cost("1000000001").Obj())
	g.Expect(err).To(MatchError(ContainSubstring("spec.variantCost")))
	check()
}

// Defect 1: a counter glitch (a thousand times the load in one reading) is
// held as stale metrics and reported; the Deployment does not move.
func TestDefect1CounterGlitchIsHeld(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "glitch", ModelID: "glitch"}
	load.Set(key, busyLoad(5))
	createGroup(t, key.Namespace, key.ModelID, []variant{{"glitch-h100", "H100", 1}}, func(w *framework.VAWrapper) { w.Spec.MaxReplicas = nil })
	waitConverged(t, key.Namespace)
	before := env.DeploymentReplicas(g, key.Namespace, "glitch-h100")
	check := othersUnchanged(t, key.Namespace)

	load.Set(key, busyLoad(5000))
	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, key.Namespace, "glitch-h100")
		expectCondition(g, va, llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsStale, "implausible")
		g.Expect(va.Status.Decision.Reason).To(Equal(llmdv1alpha1.ReasonMetricsImplausible))
	}).WithTimeout(timeout).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, key.Namespace, "glitch-h100") }).
		WithTimeout(quiet).Should(Equal(before), "the glitch moved the Deployment")
	check()
	deleteGroup(t, key.Namespace)
}

// Defect 1: a first reading far above anything (no baseline to call it
// implausible) is bounded by the scale-up limit and the operator's ceiling:
// one step of at most SCALE_UP_MAX_REPLICAS (4) replicas for a variant
// without maxReplicas, never tens of thousands.
func TestDefect1SurgeIsBoundedPerStep(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "surge", ModelID: "surge"}
	load.Set(key, busyLoad(1e9))
	check := othersUnchanged(t, key.Namespace)
	createGroup(t, key.Namespace, key.ModelID, []variant{{"surge-h100", "H100", 1}}, func(w *framework.VAWrapper) { w.Spec.MaxReplicas = nil })
	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, key.Namespace, "surge-h100")
		g.Expect(va.Status.DesiredReplicas).To(HaveValue(Equal(int32(5))))
		g.Expect(va.Status.Decision.Reason).To(Equal(llmdv1alpha1.ReasonScaleUpLimited))
	}).WithTimeout(timeout).Should(Succeed())
	g.Eventually(func(g Gomega) int32 { return env.DeploymentReplicas(g, key.Namespace, "surge-h100") }).WithTimeout(timeout).Should(Equal(int32(5)))
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, key.Namespace, "surge-h100") }).
		WithTimeout(quiet).Should(BeNumerically("<=", config.DefaultMaxReplicasPerVariant))
	check()
	deleteGroup(t, key.Namespace)
}

// Defect 2: one VA whose cost is out of the optimizer's range is reported on
// its own and left out; the rest of its group is planned.
func TestDefect2OneBadVariantDoesNotBlindItsGroup(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "mixed", ModelID: "mixed"}
	load.Set(key, busyLoad(20))
	check := othersUnchanged(t, key.Namespace)
	createGroup(t, key.Namespace, key.ModelID, []variant{{"mixed-h100", "H100", 1}, {"mixed-xpu", "XPU", 2}, {"mixed-l40s", "L40S", 1}},
		func(w *framework.VAWrapper) {
			if w.Spec.Accelerator == "XPU" {
				w.AcceleratorCount(1024) // 1024 × 1000000 per hour: beyond the optimizer's range
			}
		})
	g.Eventually(func(g Gomega) {
		bad := env.GetVA(g, key.Namespace, "mixed-xpu")
		expectCondition(g, bad, llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonVariantInvalid, "cost")
		for _, name := range []string{"mixed-h100", "mixed-l40s"} {
			va := env.GetVA(g, key.Namespace, name)
			expectCondition(g, va, llmdv1alpha1.ConditionOptimized, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonSucceeded)
		}
	}).WithTimeout(timeout).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, key.Namespace, "mixed-xpu") }).
		WithTimeout(quiet).Should(Equal(int32(2)), "the bad variant's Deployment is left alone")
	check()
	deleteGroup(t, key.Namespace)
}

// Defect 2: a group with more variants than the exact optimizer takes is
// planned with a heuristic, and every member says so with the bound.
func TestDefect2LargeGroupIsPlannedHeuristically(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "wide", ModelID: "wide"}
	load.Set(key, busyLoad(20))
	check := othersUnchanged(t, key.Namespace)
	var vs []variant
	for i := range 70 {
		acc := "H100"
		if i%2 == 1 {
			acc = "L40S"
		}
		vs = append(vs, variant{fmt.Sprintf("wide-%02d", i), acc, 0})
	}
	createGroup(t, key.Namespace, key.ModelID, vs, nil)
	g.Eventually(func(g Gomega) {
		for _, v := range vs {
			va := env.GetVA(g, key.Namespace, v.name)
			g.Expect(va.Status.DesiredReplicas).NotTo(BeNil(), "every variant is planned, none dropped: %s", v.name)
			expectCondition(g, va, llmdv1alpha1.ConditionOptimized, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonApproximate, "70 variants", "lower bound")
		}
	}).WithTimeout(2 * timeout).Should(Succeed())
	check()
	deleteGroup(t, key.Namespace)
}
