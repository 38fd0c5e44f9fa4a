package faults

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Defect 3: values out of their range are rejected with a Warning Event on
// the ConfigMap; the last good configuration stays in force and no replica
// moves.
func TestDefect3OutOfRangeConfigIsRejected(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	check := othersUnchanged(t)
	good := op.Store.Config()
	t.Cleanup(func() { g.Expect(applyConfig(ctx, baseConfig())).To(Succeed()) })

	cases := []struct {
		configMap, key, value string
		want                  []string
	}{
		{config.OperatorConfigMapName, config.KeyGlobalOptInterval, "1ms", []string{"GLOBAL_OPT_INTERVAL", "out of range", "between 1s and 24h"}},
		{config.OperatorConfigMapName, config.KeyGlobalPassInterval, "1ms", []string{"GLOBAL_PASS_INTERVAL", "out of range"}},
		{config.ScaleToZeroConfigMapName, "calm", "modelID: calm\nretentionPeriod: 720h\n", []string{"retentionPeriod", "720h", "between 1s and 24h"}},
		{config.ScaleToZeroConfigMapName, "calm", "modelID: calm\nretentionPeriod: 999us\n", []string{"retentionPeriod", "999us", "out of range"}},
		{config.UnitCostsConfigMapName, "H100", `{"device": "x", "cost": "99999999999999999999999999999999"}`, []string{"H100", "at most 1000000"}},
	}
	// Each case's wanted words include its own value: two cases share a key,
	// and the earlier case's Event must not stand in for the later one's.
	for _, c := range cases {
		g.Expect(framework.PatchConfigMapKey(ctx, env.Client, c.configMap, c.key, c.value)).To(Succeed())
		expectWarningEvent(t, framework.ConfigNamespace, c.configMap, "ConfigInvalid", c.want...)
		g.Expect(op.Store.Valid(c.configMap)).To(BeFalse(), "%s=%q accepted", c.key, c.value)
		g.Expect(applyConfig(ctx, baseConfig())).To(Succeed())
		g.Eventually(func() bool { return op.Store.Valid(c.configMap) }).WithTimeout(timeout).Should(BeTrue())
	}
	now := op.Store.Config()
	g.Expect(now.Operator.OptInterval).To(Equal(good.Operator.OptInterval))
	g.Expect(now.Operator.PassInterval).To(Equal(good.Operator.PassInterval))
	g.Expect(now.UnitCosts).To(Equal(good.UnitCosts))
	check()
}

// Defect 4: at start, a ConfigMap that exists but does not validate holds the
// groups that depend on it (ConfigInvalid, replicas unchanged), never its
// defaults; fixing it releases them. An invalid environment override stops
// the start with a clear message.
func TestDefect4InvalidConfigMapAtStartHoldsGroups(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "restart", ModelID: "restart"}
	load.Set(key, modelgroup.Load{}) // idle: with scale to zero it would go to 0
	// The model opts out of scale to zero while the operator default is on.
	opConfig := baseConfig()
	opConfig[config.OperatorConfigMapName][config.KeyScaleToZeroDefaultEnabled] = "true"
	opConfig[config.ScaleToZeroConfigMapName]["restart"] = "modelID: restart\nenableScaleToZero: false\n"
	g.Expect(applyConfig(ctx, opConfig)).To(Succeed())
	t.Cleanup(func() { g.Expect(applyConfig(ctx, baseConfig())).To(Succeed()) })
	createGroup(t, key.Namespace, key.ModelID, []variant{{"restart-h100", "H100", 2}}, nil)
	g.Eventually(func(g Gomega) int32 { return env.DesiredReplicas(g, key.Namespace, "restart-h100") }).WithTimeout(timeout).Should(BeNumerically(">", 0))
	waitConverged(t, key.Namespace)
	before := env.DeploymentReplicas(g, key.Namespace, "restart-h100")

	// The operator stops; meanwhile the per-model config breaks.
	g.Expect(op.Stop()).To(Succeed())
	g.Expect(framework.PatchConfigMapKey(ctx, env.Client, config.ScaleToZeroConfigMapName, "restart", "modelID: restart\nenableScaleToZero: nope\n")).To(Succeed())
	var err error
	op, err = startOperator(nil)
	g.Expect(err).NotTo(HaveOccurred())
	check := othersUnchanged(t, key.Namespace)

	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, key.Namespace, "restart-h100")
		expectCondition(g, va, llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonConfigInvalid, config.ScaleToZeroConfigMapName)
	}).WithTimeout(timeout).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, key.Namespace, "restart-h100") }).
		WithTimeout(quiet).Should(Equal(before), "the defaults (scale to zero on) were applied in the invalid ConfigMap's place")
	check()

	// Fixed: the group is planned again, still not scaled to zero.
	g.Expect(framework.PatchConfigMapKey(ctx, env.Client, config.ScaleToZeroConfigMapName, "restart", "modelID: restart\nenableScaleToZero: false\n")).To(Succeed())
	g.Eventually(func(g Gomega) {
		expectCondition(g, env.GetVA(g, key.Namespace, "restart-h100"), llmdv1alpha1.ConditionOptimized, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonSucceeded)
	}).WithTimeout(timeout).Should(Succeed())
	g.Expect(env.DeploymentReplicas(g, key.Namespace, "restart-h100")).To(BeNumerically(">", 0))
	deleteGroup(t, key.Namespace)

	// An invalid environment override: the operator does not start.
	start := time.Now()
	_, err = startOperator(map[string]string{config.KeyGlobalOptInterval: "often"})
	g.Expect(err).To(MatchError(SatisfyAll(ContainSubstring("environment variable GLOBAL_OPT_INTERVAL"), ContainSubstring("often"))))
	g.Expect(time.Since(start)).To(BeNumerically("<", timeout))
}
