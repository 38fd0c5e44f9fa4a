package triggers

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestIntervalChangeReconcilesNoGroup(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	if err := framework.PatchConfigMapKey(ctx, env.Client, config.OperatorConfigMapName, "GLOBAL_OPT_INTERVAL", "2h"); err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func() time.Duration { return op.Store.Config().Operator.OptInterval }).
		WithTimeout(10 * time.Second).Should(Equal(2 * time.Hour))
	expectReconciles(t, before, map[modelgroup.Key]int{})
}

func TestAcceleratorCostChangeReconcilesOnlyItsGroups(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	if err := framework.PatchConfigMapKey(ctx, env.Client, config.UnitCostsConfigMapName, "H100", framework.UnitCost("NVIDIA-H100-80GB-HBM3", 120)); err != nil {
		t.Fatal(err)
	}
	// llama in both namespaces has H100 variants; granite and mistral have none.
	expectReconciles(t, before, map[modelgroup.Key]int{llamaA: 1, llamaB: 1})
}

func TestServiceClassChangeReconcilesOnlyItsModels(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	if err := framework.PatchConfigMapKey(ctx, env.Client, config.ServiceClassesConfigMapName, "standard.yaml",
		framework.ServiceClass("Standard", 2, 3000, 100, "granite", "mistral")); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{graniteA: 1, mistralB: 1})
}

func TestKubectlEditOfOneVAReconcilesOnlyItsGroup(t *testing.T) {
	before := settle(t)
	name := variantName(graniteA, 1)
	if _, err := env.Kubectl(context.Background(), "", "patch", "va", name, "-n", nsA, "--type=merge",
		"-p", `{"spec":{"maxReplicas":7}}`); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{graniteA: 1})
}

func TestModelIDChangeReconcilesOldAndNewGroup(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	var va llmdv1alpha1.VariantAutoscaling
	name := variantName(mistralB, 3)
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: nsB, Name: name}, &va); err != nil {
		t.Fatal(err)
	}
	va.Spec.ModelID = "llama"
	if err := env.Client.Update(ctx, &va); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{mistralB: 1, llamaB: 1})

	// Move it back so the other tests see the original groups.
	before = settle(t)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(&va), &va); err != nil {
		t.Fatal(err)
	}
	va.Spec.ModelID = "mistral"
	if err := env.Client.Update(ctx, &va); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{mistralB: 1, llamaB: 1})
}

func TestDeleteReconcilesItsGroupAndDropsItsSeries(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	// A fifth variant, so the group survives the delete.
	extra := framework.MakeVA("granite-extra", nsA).Model("granite").Accelerator("L40S").Obj()
	if err := framework.CreateAll(ctx, env.Client, framework.MakeDeployment("granite-extra", nsA).Obj(), extra); err != nil {
		t.Fatal(err)
	}
	series := func() int { return framework.SeriesOf(op.Metrics.DesiredReplicas, "variant_name", "granite-extra") }
	before := settle(t)
	g.Expect(series()).To(Equal(1), "the extra VA publishes wva_desired_replicas")
	if err := env.Client.Delete(ctx, extra); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{graniteA: 1})
	g.Expect(series()).To(Equal(0), "the deleted VA's series is gone")
}

func TestDeploymentReplicaChangeReconcilesTheGroupsTargetingIt(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	var d appsv1.Deployment
	name := variantName(llamaB, 2)
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: nsB, Name: name}, &d); err != nil {
		t.Fatal(err)
	}
	d.Spec.Replicas = ptr.To(*d.Spec.Replicas + 2)
	if err := env.Client.Update(ctx, &d); err != nil {
		t.Fatal(err)
	}
	// The spec change, then kube-controller-manager's status updates as the
	// two pods are created and become ready: per pod at most one change of
	// status.replicas and one of readyReplicas, each a change the operator
	// reads (they may coalesce in the queue). No other group.
	expectReconcilesBetween(t, before, llamaB, 1, 1+2*2)
}

func TestStatusOnlyWriteReconcilesNothing(t *testing.T) {
	ctx := context.Background()
	before := settle(t)
	var va llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, types.NamespacedName{Namespace: nsA, Name: variantName(llamaA, 0)}, &va); err != nil {
		t.Fatal(err)
	}
	va.Status.CurrentReplicas = 42
	if err := env.Client.Status().Update(ctx, &va); err != nil {
		t.Fatal(err)
	}
	expectReconciles(t, before, map[modelgroup.Key]int{})
}

func TestRapidEditsAreDeduplicated(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	before := settle(t)
	const edits, editors = 50, 25
	// A burst: 25 editors at once, as a rollout script would send them. (A
	// reconcile takes milliseconds since statuses are written on their own
	// queue, so a slower burst would fold less.)
	var wg sync.WaitGroup
	errs := make(chan error, edits)
	for e := range editors {
		wg.Go(func() {
			for i := e; i < edits; i += editors {
				va := &llmdv1alpha1.VariantAutoscaling{}
				va.Namespace, va.Name = nsA, variantName(llamaA, i%4)
				patch := fmt.Sprintf(`{"spec":{"minReplicas":%d}}`, i%3)
				errs <- env.Client.Patch(ctx, va, client.RawPatch(types.MergePatchType, []byte(patch)))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every edit is seen, but the queue folds the burst into few runs.
	g.Eventually(func(g Gomega) {
		var list llmdv1alpha1.VariantAutoscalingList
		g.Expect(env.Client.List(ctx, &list, client.InNamespace(nsA))).To(Succeed())
		for _, va := range list.Items {
			g.Expect(va.Status.ObservedGeneration).To(Equal(va.Generation))
		}
	}).WithTimeout(20 * time.Second).Should(Succeed())
	settle(t)
	got := op.Reconciles.Since(before)
	t.Logf("%d edits to group %s gave %d reconciles", edits, llamaA, got[llamaA])
	g.Expect(got).To(HaveLen(1), "only the edited group ran")
	g.Expect(got[llamaA]).To(BeNumerically("<", edits/2), "far fewer reconciles than edits")
	// Final state: every VA's status was planned from its latest spec.
	var list llmdv1alpha1.VariantAutoscalingList
	g.Expect(env.Client.List(ctx, &list, client.InNamespace(nsA), client.MatchingFields{})).To(Succeed())
	for _, va := range list.Items {
		if va.Spec.ModelID == "llama" {
			g.Expect(va.Status.ObservedGeneration).To(Equal(va.Generation))
			g.Expect(*va.Status.DesiredReplicas).To(BeNumerically(">=", va.Spec.MinReplicas), "VA %s", va.Name)
		}
	}
}
