package capacity

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	timeout    = 30 * time.Second
	h100Device = "NVIDIA-H100-80GB-HBM3"
	a100Device = "NVIDIA-A100-SXM4-80GB"
	chatModel  = "chat"
	batchModel = "batch"
	embedModel = "embed"
	gpu        = corev1.ResourceName(config.DefaultAcceleratorResource)
)

var (
	chatKey  = modelgroup.Key{Namespace: "cap-chat", ModelID: chatModel}
	batchKey = modelgroup.Key{Namespace: "cap-batch", ModelID: batchModel}
	embedKey = modelgroup.Key{Namespace: "cap-embed", ModelID: embedModel}
)

// Two models of different priority share an H100 pool (chat: premium,
// priority 1; batch: priority 9, minReplicas 1); a third (embed) runs on
// A100 with room to spare. Each step changes the inventory or the load and
// waits for the budgets to show in the VAs' statuses and Deployments.
func TestLimitedCapacity(t *testing.T) {
	createVariant(t, chatKey, "chat-h100", "H100", 0)
	createVariant(t, batchKey, "batch-h100", "H100", 1)
	createVariant(t, embedKey, "embed-a100", "A100", 0)
	createNode(t, "h100-a", h100Device, 4)
	createNode(t, "h100-b", h100Device, 4)
	createNode(t, "a100-a", a100Device, 8)
	per := perReplica(t)
	// need(n) is a load that n replicas carry and n-1 do not.
	need := func(n int) modelgroup.Load {
		return modelgroup.Load{ArrivalRate: per * (float64(n) - 0.5), AvgInputTokens: 512, AvgOutputTokens: 128}
	}
	load.Set(chatKey, need(6))
	load.Set(batchKey, need(4))
	load.Set(embedKey, need(2))

	steps := []struct {
		name string
		act  func(t *testing.T)
		want []want
	}{
		{
			name: "two priorities share one pool: the premium model first",
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=2 of the limited inventory"},
				{embedKey, "embed-a100", 2, llmdv1alpha1.ConditionReasonSucceeded, ""},
			},
		},
		{
			name: "a node removed: the minimum first, the premium model gets the rest",
			act:  func(t *testing.T) { deleteNode(t, "h100-b") },
			want: []want{
				{chatKey, "chat-h100", 3, llmdv1alpha1.ConditionReasonCapacityLimited, "without the budget the plan would use H100=6"},
				{batchKey, "batch-h100", 1, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=1"},
			},
		},
		{
			name: "a node added",
			act:  func(t *testing.T) { createNode(t, "h100-c", h100Device, 4) },
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=2"},
			},
		},
		{
			name: "a node cordoned",
			act:  func(t *testing.T) { cordon(t, "h100-a", true) },
			want: []want{
				{chatKey, "chat-h100", 3, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=3"},
				{batchKey, "batch-h100", 1, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=1"},
			},
		},
		{
			name: "and uncordoned",
			act:  func(t *testing.T) { cordon(t, "h100-a", false) },
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=2"},
			},
		},
		{
			name: "the premium load rises: the batch model is squeezed to its minimum",
			act:  func(*testing.T) { load.Set(chatKey, need(9)) },
			want: []want{
				{chatKey, "chat-h100", 7, llmdv1alpha1.ConditionReasonCapacityLimited, "without the budget the plan would use H100=9"},
				{batchKey, "batch-h100", 1, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=1"},
			},
		},
		{
			name: "and falls back: the batch model gets its share again",
			act:  func(*testing.T) { load.Set(chatKey, need(6)) },
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=2"},
			},
		},
		{
			name: "a batch pod Pending for lack of GPUs is reported",
			act:  func(t *testing.T) { createPod(t, batchKey.Namespace, "batch-h100", "", 1) },
			want: []want{
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "1 pods Pending for lack of accelerators (H100=1)"},
			},
		},
		{
			name: "GPUs held by another workload are not handed out",
			act:  func(t *testing.T) { createPod(t, "cap-training", "trainer", "h100-a", 2) },
			want: []want{
				{chatKey, "chat-h100", 5, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=5"},
				{batchKey, "batch-h100", 1, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=1"},
			},
		},
		{
			name: "and come back when it finishes",
			act:  func(t *testing.T) { finishPod(t, "cap-training", "trainer") },
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 2, llmdv1alpha1.ConditionReasonCapacityLimited, "accelerator budget H100=2"},
			},
		},
		{
			name: "back to unlimited: every group plans on its own",
			act: func(t *testing.T) {
				if err := framework.PatchConfigMapKey(context.Background(), env.Client, config.OperatorConfigMapName, config.KeyCapacityMode, "unlimited"); err != nil {
					t.Fatal(err)
				}
			},
			want: []want{
				{chatKey, "chat-h100", 6, llmdv1alpha1.ConditionReasonSucceeded, ""},
				{batchKey, "batch-h100", 4, llmdv1alpha1.ConditionReasonSucceeded, ""},
			},
		},
	}
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			before := op.Reconciles.Snapshot()
			if s.act != nil {
				s.act(t)
			}
			for _, w := range s.want {
				expectVA(t, w)
			}
			// The A100 group's budget never changes (A100 is never
			// contended): once it is planned, no arbitration re-plans it.
			if n := op.Reconciles.Since(before)[embedKey]; s.act != nil && n != 0 {
				t.Errorf("the A100 group was re-planned %d times", n)
			}
		})
		if !ok {
			return
		}
	}
}

type want struct {
	key     modelgroup.Key
	name    string
	desired int32
	reason  string
	message string
}

// expectVA waits for the VA's desired replicas, its Deployment's replicas
// (actuation) and its Optimized condition.
func expectVA(t *testing.T, w want) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var va llmdv1alpha1.VariantAutoscaling
		g.Expect(env.Client.Get(context.Background(), client.ObjectKey{Namespace: w.key.Namespace, Name: w.name}, &va)).To(Succeed())
		g.Expect(va.Status.DesiredReplicas).NotTo(BeNil(), "desired replicas of %s", w.name)
		g.Expect(*va.Status.DesiredReplicas).To(Equal(w.desired), "desired replicas of %s", w.name)
		c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionOptimized)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(w.reason), "Optimized of %s: %s", w.name, c.Message)
		g.Expect(c.Message).To(ContainSubstring(w.message), "Optimized of %s", w.name)
		g.Expect(env.DeploymentReplicas(g, w.key.Namespace, w.name)).To(Equal(w.desired), "Deployment %s", w.name)
	}).WithTimeout(timeout).Should(Succeed())
}

// createVariant creates a namespace, a Deployment and its VA.
func createVariant(t *testing.T, key modelgroup.Key, name, accelerator string, minReplicas int32) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, key.Namespace); err != nil {
		t.Fatal(err)
	}
	va := framework.MakeVA(name, key.Namespace).Model(key.ModelID).Accelerator(accelerator).Min(minReplicas).Max(20)
	if err := framework.CreateAll(ctx, env.Client, framework.MakeDeployment(name, key.Namespace).Replicas(minReplicas).Obj(), va.Obj()); err != nil {
		t.Fatal(err)
	}
}

// perReplica is what one replica of the builders' profile carries within
// the test SLO at the test request shape.
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

// createNode creates a Ready GPU node: what kubelet and the device plugin
// would report.
func createNode(t *testing.T, name, device string, gpus int) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{config.DefaultAcceleratorLabel: device}}}
	if err := env.Client.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	q := *resource.NewQuantity(int64(gpus), resource.DecimalSI)
	n.Status = corev1.NodeStatus{
		Capacity:    corev1.ResourceList{gpu: q},
		Allocatable: corev1.ResourceList{gpu: q},
		Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
	}
	if err := env.Client.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
}

func deleteNode(t *testing.T, name string) {
	t.Helper()
	if err := env.Client.Delete(context.Background(), &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
}

func cordon(t *testing.T, name string, on bool) {
	t.Helper()
	ctx := context.Background()
	var n corev1.Node
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &n); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(n.DeepCopy())
	n.Spec.Unschedulable = on
	if err := env.Client.Patch(ctx, &n, patch); err != nil {
		t.Fatal(err)
	}
}

// createPod creates a pod of Deployment deploy (through its ReplicaSet)
// requesting gpus: Running on node, or Pending and unschedulable for lack
// of GPUs when node is "".
func createPod(t *testing.T, ns, deploy, node string, gpus int) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	q := *resource.NewQuantity(int64(gpus), resource.DecimalSI)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: deploy + "-abc12-xyz", Labels: map[string]string{"pod-template-hash": "abc12"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: deploy + "-abc12", UID: "00000000-0000-0000-0000-000000000001", Controller: ptr.To(true)}},
		},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Image: "vllm", Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{gpu: q}, Requests: corev1.ResourceList{gpu: q}}}},
		},
	}
	if err := env.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning}
	if node == "" {
		p.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
			Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
		}}}
	}
	if err := env.Client.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// finishPod marks a pod Succeeded: its GPUs are free again.
func finishPod(t *testing.T, ns, deploy string) {
	t.Helper()
	ctx := context.Background()
	var p corev1.Pod
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: deploy + "-abc12-xyz"}, &p); err != nil {
		t.Fatal(err)
	}
	p.Status.Phase = corev1.PodSucceeded
	if err := env.Client.Status().Update(ctx, &p); err != nil {
		t.Fatal(err)
	}
}
