package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/config"
)

const (
	testLabel    = "nvidia.com/gpu.product"
	testResource = "nvidia.com/gpu"
)

func gpus(n int) corev1.ResourceList {
	return corev1.ResourceList{testResource: *resource.NewQuantity(int64(n), resource.DecimalSI)}
}

func gpuNode(name, product string, n int, mutate ...func(*corev1.Node)) corev1.Node {
	node := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{testLabel: product}},
		Status: corev1.NodeStatus{
			Allocatable: gpus(n),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, m := range mutate {
		m(&node)
	}
	return node
}

// gpuPod is a pod of a Deployment (through ReplicaSet <deploy>-abc12) or a
// bare pod when deploy is "".
func gpuPod(ns, deploy, node string, n int, mutate ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: deploy + "-pod", Labels: map[string]string{"pod-template-hash": "abc12"}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "c", Resources: corev1.ResourceRequirements{Limits: gpus(n)}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	if deploy != "" {
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: deploy + "-abc12", Controller: ptr.To(true)}}
	}
	for _, m := range mutate {
		m(&p)
	}
	return p
}

func unschedulable(msg string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: msg}}
	}
}

func TestComputeInventory(t *testing.T) {
	managed := map[workload]bool{{Kind: "Deployment", Namespace: "ns", Name: "llama-h100"}: true}
	cfg := config.Defaults()
	cfg.UnitCosts = map[string]config.UnitCost{"H100": {Device: "NVIDIA-H100-80GB-HBM3", Cost: 10}}
	tests := map[string]struct {
		nodes []corev1.Node
		pods  []corev1.Pod
		want  inventory
	}{
		"nodes by type, device names mapped through the unit costs": {
			nodes: []corev1.Node{
				gpuNode("a", "NVIDIA-H100-80GB-HBM3", 8), gpuNode("b", "NVIDIA-H100-80GB-HBM3", 8), gpuNode("c", "A100", 4),
			},
			want: inventory{Available: map[string]int{"H100": 16, "A100": 4}, Nodes: map[string]int{"H100": 2, "A100": 1}, Pending: map[workload]int{}},
		},
		"cordoned, NotReady, deleting, unlabelled and GPU-less nodes do not count": {
			nodes: []corev1.Node{
				gpuNode("ok", "H100", 8),
				gpuNode("cordoned", "H100", 8, func(n *corev1.Node) { n.Spec.Unschedulable = true }),
				gpuNode("notready", "H100", 8, func(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }),
				gpuNode("deleting", "H100", 8, func(n *corev1.Node) { n.DeletionTimestamp = ptr.To(metav1.Now()) }),
				gpuNode("nolabel", "H100", 8, func(n *corev1.Node) { n.Labels = nil }),
				gpuNode("nogpu", "H100", 0, func(n *corev1.Node) { n.Status.Allocatable = nil }),
			},
			want: inventory{Available: map[string]int{"H100": 8}, Nodes: map[string]int{"H100": 1}, Pending: map[workload]int{}},
		},
		"pods not sized by a VA are subtracted, VA pods are not, finished pods free theirs": {
			nodes: []corev1.Node{gpuNode("a", "H100", 8), gpuNode("c", "A100", 4)},
			pods: []corev1.Pod{
				gpuPod("ns", "llama-h100", "a", 2),
				gpuPod("ns", "training", "a", 3),
				gpuPod("other", "llama-h100", "a", 1), // same name, other namespace: not managed
				gpuPod("ns", "", "c", 1),
				gpuPod("ns", "batch", "c", 2, func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				gpuPod("ns", "web", "a", 0),
			},
			want: inventory{Available: map[string]int{"H100": 4, "A100": 3}, Nodes: map[string]int{"H100": 1, "A100": 1}, Pending: map[workload]int{}},
		},
		"pending VA pods for lack of the resource are counted": {
			nodes: []corev1.Node{gpuNode("a", "H100", 8)},
			pods: []corev1.Pod{
				gpuPod("ns", "llama-h100", "", 2, unschedulable("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")),
				gpuPod("ns", "llama-h100", "", 2, unschedulable("")),
				gpuPod("ns", "llama-h100", "", 2, unschedulable("0/3 nodes are available: 3 node(s) had untolerated taint")),
				gpuPod("ns", "training", "", 2, unschedulable("0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")),
			},
			want: inventory{Available: map[string]int{"H100": 8}, Nodes: map[string]int{"H100": 1},
				Pending: map[workload]int{{Kind: "Deployment", Namespace: "ns", Name: "llama-h100"}: 2}},
		},
		"init containers count as the scheduler counts them": {
			nodes: []corev1.Node{gpuNode("a", "H100", 8)},
			pods: []corev1.Pod{gpuPod("ns", "job", "a", 1, func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{{Name: "i", Resources: corev1.ResourceRequirements{Requests: gpus(3)}}}
			})},
			want: inventory{Available: map[string]int{"H100": 5}, Nodes: map[string]int{"H100": 1}, Pending: map[workload]int{}},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := computeInventory(inventoryInput{
				Nodes: tc.nodes, Pods: tc.pods, Managed: managed,
				Label: testLabel, Resource: testResource, TypeOf: acceleratorTypeOf(cfg),
			})
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("inventory (-want +got):\n%s", diff)
			}
		})
	}
}
