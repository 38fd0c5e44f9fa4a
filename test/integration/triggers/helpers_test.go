package triggers

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// settle waits until every VA's status reflects its spec and no reconcile
// ran for a while, then returns the per-group counts to measure from.
func settle(t *testing.T) map[modelgroup.Key]int {
	t.Helper()
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		var list llmdv1alpha1.VariantAutoscalingList
		g.Expect(env.Client.List(context.Background(), &list)).To(Succeed())
		for _, va := range list.Items {
			g.Expect(va.Status.ObservedGeneration).To(Equal(va.Generation), "VA %s/%s", va.Namespace, va.Name)
			g.Expect(va.Status.DesiredReplicas).NotTo(BeNil(), "VA %s/%s", va.Namespace, va.Name)
		}
		// The real controllers have rolled every Deployment out: their
		// status updates are events the operator reads.
		var deployments appsv1.DeploymentList
		g.Expect(env.Client.List(context.Background(), &deployments)).To(Succeed())
		for _, d := range deployments.Items {
			g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation), "Deployment %s/%s", d.Namespace, d.Name)
			g.Expect(d.Status.ReadyReplicas).To(Equal(ptr.Deref(d.Spec.Replicas, 1)), "Deployment %s/%s", d.Namespace, d.Name)
			g.Expect(d.Status.Replicas).To(Equal(ptr.Deref(d.Spec.Replicas, 1)), "Deployment %s/%s", d.Namespace, d.Name)
		}
	}).WithTimeout(30 * time.Second).Should(Succeed())
	// Quiet means: the total did not move across several polls.
	last, stable := -1, 0
	g.Eventually(func() int {
		if n := op.Reconciles.Total(); n == last {
			stable++
		} else {
			last, stable = n, 0
		}
		return stable
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(BeNumerically(">=", 5))
	return op.Reconciles.Snapshot()
}

// expectReconciles asserts that, from before, exactly the wanted groups were
// reconciled the wanted number of times, and that it stays so.
func expectReconciles(t *testing.T, before map[modelgroup.Key]int, want map[modelgroup.Key]int) {
	t.Helper()
	g := NewWithT(t)
	diff := func() string { return cmp.Diff(want, op.Reconciles.Since(before)) }
	g.Eventually(diff).WithTimeout(15*time.Second).Should(BeEmpty(), "reconciles per group (-want +got)")
	g.Consistently(diff).WithTimeout(2*time.Second).Should(BeEmpty(), "reconciles per group after the event settled (-want +got)")
}

// expectReconcilesBetween asserts that, from before, only key was reconciled,
// between lo and hi times, and that it stays so: for an event the real
// controllers follow with events of their own (a Deployment's status), each
// of which the operator reads.
func expectReconcilesBetween(t *testing.T, before map[modelgroup.Key]int, key modelgroup.Key, lo, hi int) {
	t.Helper()
	g := NewWithT(t)
	check := func(g Gomega) {
		got := op.Reconciles.Since(before)
		g.Expect(got).To(HaveLen(1), "only %s is reconciled: %v", key, got)
		g.Expect(got[key]).To(BeNumerically(">=", lo), "%v", got)
		g.Expect(got[key]).To(BeNumerically("<=", hi), "%v", got)
	}
	g.Eventually(check).WithTimeout(15 * time.Second).Should(Succeed())
	g.Consistently(check).WithTimeout(2 * time.Second).Should(Succeed())
}
