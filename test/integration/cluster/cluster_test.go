package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func namespace(t *testing.T, name string) string {
	t.Helper()
	if err := framework.CreateNamespace(context.Background(), env.Client, name); err != nil {
		t.Fatal(err)
	}
	return name
}

func podsOf(g Gomega, ns, app string) []corev1.Pod {
	var pods corev1.PodList
	g.Expect(env.Client.List(context.Background(), &pods, client.InNamespace(ns), client.MatchingLabels{"app": app})).To(Succeed())
	return pods.Items
}

func condition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// TestPodsRunOnTheirPoolAfterTheStartDelay: every pod of an A100 workload
// lands on an A100 node, is not Ready before the start-up delay has passed
// since it was scheduled, and the Deployment reports all replicas ready.
func TestPodsRunOnTheirPoolAfterTheStartDelay(t *testing.T) {
	ns := namespace(t, "pools")
	ctx := context.Background()
	d := cluster.GPUDeployment("llama-a100", ns, "A100", 2, 3)
	if err := env.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	// Scheduled first: all three bound to A100 nodes while none is Ready yet.
	g.Eventually(func(g Gomega) {
		pods := podsOf(g, ns, d.Name)
		g.Expect(pods).To(HaveLen(3))
		for _, p := range pods {
			g.Expect(p.Spec.NodeName).To(HavePrefix("gpu-a100-"), "pod %s", p.Name)
		}
	}).WithTimeout(30 * time.Second).WithPolling(100 * time.Millisecond).Should(Succeed())

	g.Eventually(func(g Gomega) {
		var got appsv1.Deployment
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(d), &got)).To(Succeed())
		g.Expect(got.Status.ReadyReplicas).To(Equal(int32(3)))
		g.Expect(got.Status.AvailableReplicas).To(Equal(int32(3)))
	}).WithTimeout(30 * time.Second).Should(Succeed())

	// Condition times have a resolution of one second.
	for _, p := range podsOf(g, ns, d.Name) {
		scheduled, ready := condition(&p, corev1.PodScheduled), condition(&p, corev1.PodReady)
		if scheduled == nil || ready == nil || ready.Status != corev1.ConditionTrue {
			t.Fatalf("pod %s: want PodScheduled and Ready=True, got %+v", p.Name, p.Status.Conditions)
		}
		if took := ready.LastTransitionTime.Sub(scheduled.LastTransitionTime.Time); took < podStartDelay-time.Second {
			t.Errorf("pod %s became Ready %s after it was scheduled, want at least the start-up delay %s", p.Name, took, podStartDelay)
		}
	}
	nodes := map[string]int{}
	for _, p := range podsOf(g, ns, d.Name) {
		nodes[p.Spec.NodeName]++
	}
	// 2 nodes x 4 GPUs hold two 2-GPU pods each.
	for n, count := range nodes {
		if count > 2 {
			t.Errorf("node %s holds %d pods of 2 GPUs, more than its 4 GPUs allow", n, count)
		}
	}
}

// TestFullPoolLeavesPodsPending: the H100 pool has 8 GPUs, so of three pods
// of 4 GPUs one stays Pending and unschedulable; the other pools' free GPUs
// are not used for it. Scaling down to what fits removes the Pending pod.
func TestFullPoolLeavesPodsPending(t *testing.T) {
	ns := namespace(t, "full")
	ctx := context.Background()
	d := cluster.GPUDeployment("llama-70b-h100", ns, "H100", 4, 3)
	if err := env.Client.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		var running, unschedulable int
		for _, p := range podsOf(g, ns, d.Name) {
			if c := condition(&p, corev1.PodReady); c != nil && c.Status == corev1.ConditionTrue {
				g.Expect(p.Spec.NodeName).To(Equal("gpu-h100-0"))
				running++
			}
			if c := condition(&p, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				g.Expect(p.Spec.NodeName).To(BeEmpty())
				g.Expect(p.Status.Phase).To(Equal(corev1.PodPending))
				unschedulable++
			}
		}
		g.Expect([]int{running, unschedulable}).To(Equal([]int{2, 1}), "ready and unschedulable pods")
	}).WithTimeout(45 * time.Second).Should(Succeed())

	usage, err := cluster.Usage(ctx, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	free := map[string]int64{}
	for _, u := range usage {
		free[u.Accelerator] = u.Free()
	}
	// Other tests may run pods in other pools; only H100 is asserted exactly.
	if free["H100"] != 0 {
		t.Errorf("free H100 GPUs = %d, want 0 (usage %+v)", free["H100"], usage)
	}

	var got appsv1.Deployment
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(d), &got); err != nil {
		t.Fatal(err)
	}
	// A merge patch without a resource version: the deployment controller
	// writes the Deployment's status concurrently, which an Update of the
	// whole object would conflict with.
	before := got.DeepCopy()
	got.Spec.Replicas = ptr.To[int32](2)
	if err := env.Client.Patch(ctx, &got, client.MergeFrom(before)); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		pods := podsOf(g, ns, d.Name)
		var nodes []string
		for _, p := range pods {
			nodes = append(nodes, p.Spec.NodeName)
		}
		g.Expect(cmp.Diff([]string{"gpu-h100-0", "gpu-h100-0"}, nodes)).To(BeEmpty())
	}).WithTimeout(30 * time.Second).Should(Succeed())
}

// TestNodePools: the pools exist with their labels and GPUs, and kwok made
// every node Ready.
func TestNodePools(t *testing.T) {
	var nodes corev1.NodeList
	if err := env.Client.List(context.Background(), &nodes); err != nil {
		t.Fatal(err)
	}
	NewWithT(t).Eventually(func(g Gomega) {
		g.Expect(env.Client.List(context.Background(), &nodes)).To(Succeed())
		got := map[string]string{}
		for _, n := range nodes.Items {
			gpus := n.Status.Allocatable[cluster.AcceleratorOf(n.Labels[cluster.AcceleratorLabel]).Resource]
			ready := "NotReady"
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready = "Ready"
				}
			}
			got[n.Name] = fmt.Sprintf("%s %s %d", n.Labels[cluster.AcceleratorLabel], ready, gpus.Value())
		}
		g.Expect(cmp.Diff(map[string]string{
			"gpu-h100-0":   "H100 Ready 8",
			"gpu-a100-0":   "A100 Ready 4",
			"gpu-a100-1":   "A100 Ready 4",
			"gpu-l40s-0":   "L40S Ready 8",
			"gpu-mi300x-0": "MI300X Ready 8",
		}, got)).To(BeEmpty())
	}).WithTimeout(30 * time.Second).Should(Succeed())
}
