package cluster

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// A removed node's pods wait for the pod garbage collector (tens of
// seconds) before the ReplicaSets replace them.
const timeout = 3 * time.Minute

var (
	chatKey  = modelgroup.Key{Namespace: "capk-chat", ModelID: "chat"}
	batchKey = modelgroup.Key{Namespace: "capk-batch", ModelID: "batch"}
)

type pods struct{ running, pending int }

func TestBudgetsKeepPodsSchedulable(t *testing.T) {
	createVariant(t, chatKey, "chat-h100", 0)
	createVariant(t, batchKey, "batch-h100", 1)
	per := perReplica(t)
	need := func(n int) modelgroup.Load {
		return modelgroup.Load{ArrivalRate: per * (float64(n) - 0.5), AvgInputTokens: 512, AvgOutputTokens: 128}
	}
	load.Set(chatKey, need(6))
	load.Set(batchKey, need(4))

	steps := []struct {
		name        string
		act         func(t *testing.T)
		chat, batch pods
	}{
		{name: "two models share the 8 H100: every pod is placed", chat: pods{6, 0}, batch: pods{2, 0}},
		{name: "a node removed", act: func(t *testing.T) { deleteNode(t, cluster.NodeName("H100", 1)) }, chat: pods{3, 0}, batch: pods{1, 0}},
		{name: "a node added", act: func(t *testing.T) {
			if err := cluster.CreateNodes(context.Background(), env.Client, []cluster.NodePool{{Accelerator: "H100", Nodes: 2, GPUsPerNode: 4}}); err != nil {
				t.Fatal(err)
			}
		}, chat: pods{6, 0}, batch: pods{2, 0}},
		{name: "the premium load rises: batch squeezed to its minimum", act: func(*testing.T) { load.Set(chatKey, need(9)) }, chat: pods{7, 0}, batch: pods{1, 0}},
		{name: "and falls back", act: func(*testing.T) { load.Set(chatKey, need(6)) }, chat: pods{6, 0}, batch: pods{2, 0}},
		{name: "without budgets the same load leaves batch pods Pending", act: func(t *testing.T) {
			if err := framework.PatchConfigMapKey(context.Background(), env.Client, config.OperatorConfigMapName, config.KeyCapacityMode, "unlimited"); err != nil {
				t.Fatal(err)
			}
		}, chat: pods{6, 0}, batch: pods{2, 2}},
	}
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			if s.act != nil {
				s.act(t)
			}
			g := NewWithT(t)
			g.Eventually(func(g Gomega) {
				g.Expect(desired(g, chatKey, "chat-h100")).To(Equal(int32(s.chat.running + s.chat.pending)))
				g.Expect(desired(g, batchKey, "batch-h100")).To(Equal(int32(s.batch.running + s.batch.pending)))
				g.Expect(podsOf(g, chatKey.Namespace, "chat-h100")).To(Equal(s.chat), "chat pods (running, pending)")
				g.Expect(podsOf(g, batchKey.Namespace, "batch-h100")).To(Equal(s.batch), "batch pods (running, pending)")
			}).WithTimeout(timeout).WithPolling(250 * time.Millisecond).Should(Succeed())
		})
		if !ok {
			return
		}
	}
}

func desired(g Gomega, key modelgroup.Key, name string) int32 {
	var va llmdv1alpha1.VariantAutoscaling
	g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: key.Namespace, Name: name}, &va)).To(Succeed())
	g.Expect(va.Status.DesiredReplicas).NotTo(BeNil())
	return *va.Status.DesiredReplicas
}

// podsOf counts a Deployment's live pods: bound to an existing node and
// Running, or Pending because the scheduler found no room.
func podsOf(g Gomega, ns, name string) pods {
	var list corev1.PodList
	g.Expect(env.Client.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{"app": name})).To(Succeed())
	var nodes corev1.NodeList
	g.Expect(env.Client.List(context.Background(), &nodes)).To(Succeed())
	exists := map[string]bool{}
	for _, n := range nodes.Items {
		exists[n.Name] = true
	}
	var out pods
	for _, p := range list.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		switch {
		case p.Spec.NodeName != "" && exists[p.Spec.NodeName] && p.Status.Phase == corev1.PodRunning:
			out.running++
		case p.Spec.NodeName == "" && unschedulable(&p):
			out.pending++
		default:
			out.pending += 100 // anything else is not settled yet
		}
	}
	return out
}

func unschedulable(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

func createVariant(t *testing.T, key modelgroup.Key, name string, minReplicas int32) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, key.Namespace); err != nil {
		t.Fatal(err)
	}
	va := framework.MakeVA(name, key.Namespace).Model(key.ModelID).Accelerator("H100").Min(minReplicas).Max(20)
	if err := framework.CreateAll(ctx, env.Client, cluster.GPUDeployment(name, key.Namespace, "H100", 1, minReplicas), va.Obj()); err != nil {
		t.Fatal(err)
	}
}

// deleteNode drains a node (deletes the pods bound to it, as a scale-down
// of the node pool does) and deletes it. This cluster runs no pod garbage
// collector that would remove them after the node.
func deleteNode(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	var list corev1.PodList
	if err := env.Client.List(ctx, &list); err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		if p := &list.Items[i]; p.Spec.NodeName == name {
			err := env.Client.Delete(ctx, p, client.GracePeriodSeconds(0))
			if err = client.IgnoreNotFound(err); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := env.Client.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func perReplica(t *testing.T) float64 {
	t.Helper()
	p, err := framework.MakeVA("x", "x").Obj().Spec.Profile.Parse()
	if err != nil {
		t.Fatal(err)
	}
	c, err := allocator.Capacity(allocator.Profile{MaxBatchSize: p.MaxBatchSize, Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta},
		allocator.SLO{TTFT: 2000, ITL: 80}, allocator.RoundTokens(512), allocator.RoundTokens(128))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
