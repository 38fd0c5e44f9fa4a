package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// GPUResource is the extended resource NVIDIA nodes offer and their pods
	// request, one per accelerator.
	GPUResource corev1.ResourceName = "nvidia.com/gpu"
	// AMDGPUResource is the same for AMD nodes.
	AMDGPUResource corev1.ResourceName = "amd.com/gpu"
	// AcceleratorLabel carries a node's accelerator type (a VA's
	// spec.accelerator); pods select their pool with it.
	AcceleratorLabel = "llmd.ai/accelerator"
	// KwokNodeLabel marks the nodes kwok manages; kwok ignores all others.
	KwokNodeLabel = "type"
	// KwokNodeValue is the value of KwokNodeLabel on managed nodes.
	KwokNodeValue = "kwok"
)

// Accelerator is how the nodes of one accelerator type look to a pod: the
// extended resource they offer and the product label the device plugins
// (NVIDIA's GPU feature discovery, AMD's node labeller) put on them, which
// config/samples select.
type Accelerator struct {
	Resource     corev1.ResourceName
	ProductLabel string
	Product      string
}

// AcceleratorOf returns the node description of an accelerator type; types
// it does not know are NVIDIA devices whose product is the type's name.
func AcceleratorOf(accelerator string) Accelerator {
	switch accelerator {
	case "H100":
		return Accelerator{GPUResource, "nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"}
	case "A100":
		return Accelerator{GPUResource, "nvidia.com/gpu.product", "NVIDIA-A100-SXM4-80GB"}
	case "L40S":
		return Accelerator{GPUResource, "nvidia.com/gpu.product", "NVIDIA-L40S"}
	case "MI300X":
		return Accelerator{AMDGPUResource, "amd.com/gpu.product-name", "AMD_Instinct_MI300X_OAM"}
	default:
		return Accelerator{GPUResource, "nvidia.com/gpu.product", accelerator}
	}
}

// NodePool is a set of identical fake GPU nodes.
type NodePool struct {
	// Accelerator is the accelerator type, as in a VA's spec.accelerator.
	Accelerator string
	// Nodes is the number of nodes.
	Nodes int
	// GPUsPerNode is each node's allocatable GPUResource.
	GPUsPerNode int
}

// DefaultPools are four pools of one node with 8 GPUs each.
func DefaultPools() []NodePool {
	return []NodePool{
		{Accelerator: "H100", Nodes: 1, GPUsPerNode: 8},
		{Accelerator: "A100", Nodes: 1, GPUsPerNode: 8},
		{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
		{Accelerator: "MI300X", Nodes: 1, GPUsPerNode: 8},
	}
}

// NodeName is the name of a pool's i-th node, e.g. gpu-h100-0.
func NodeName(accelerator string, i int) string {
	return fmt.Sprintf("gpu-%s-%d", strings.ToLower(accelerator), i)
}

// poolNode returns a pool's i-th node. Its status already carries capacity
// and allocatable, which kwok keeps when it marks the node Ready.
func poolNode(p NodePool, i int) *corev1.Node {
	a := AcceleratorOf(p.Accelerator)
	res := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("256"),
		corev1.ResourceMemory: resource.MustParse("2Ti"),
		corev1.ResourcePods:   resource.MustParse("1000"),
		a.Resource:            *resource.NewQuantity(int64(p.GPUsPerNode), resource.DecimalSI),
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: NodeName(p.Accelerator, i),
			Labels: map[string]string{
				KwokNodeLabel:                 KwokNodeValue,
				AcceleratorLabel:              p.Accelerator,
				a.ProductLabel:                a.Product,
				corev1.LabelHostname:          NodeName(p.Accelerator, i),
				corev1.LabelOSStable:          "linux",
				corev1.LabelArchStable:        "amd64",
				"node-role.kubernetes.io/gpu": "",
			},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Status: corev1.NodeStatus{Capacity: res, Allocatable: res.DeepCopy()},
	}
}

// CreateNodes creates the pools' nodes; nodes that exist are kept.
func CreateNodes(ctx context.Context, c client.Client, pools []NodePool) error {
	for _, p := range pools {
		if p.Accelerator == "" || p.Nodes < 0 || p.GPUsPerNode < 0 {
			return fmt.Errorf("invalid node pool %+v: it needs an accelerator and non-negative sizes", p)
		}
		for i := range p.Nodes {
			n := poolNode(p, i)
			if err := c.Create(ctx, n); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating node %s: %w", n.Name, err)
			}
		}
	}
	return nil
}

// GPUPodSpec is the pod spec of a workload serving with count accelerators of
// one type: it requests count GPUs and selects the nodes of that pool by
// product label, as config/samples do.
func GPUPodSpec(accelerator string, count int32) corev1.PodSpec {
	a := AcceleratorOf(accelerator)
	gpus := *resource.NewQuantity(int64(count), resource.DecimalSI)
	return corev1.PodSpec{
		NodeSelector: map[string]string{a.ProductLabel: a.Product},
		Containers: []corev1.Container{{
			Name:  "vllm",
			Image: "vllm/vllm-openai:latest",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{a.Resource: gpus},
				Limits:   corev1.ResourceList{a.Resource: gpus},
			},
		}},
		TerminationGracePeriodSeconds: new(int64),
	}
}

// PoolUsage is a pool's GPUs in use and free, from the pods bound to its nodes.
type PoolUsage struct {
	Accelerator string
	Nodes       int
	Allocatable int64
	Used        int64
}

// Free is the pool's unused GPUs.
func (u PoolUsage) Free() int64 { return u.Allocatable - u.Used }

// Usage sums, per accelerator label, the nodes' allocatable GPUs and the GPUs
// requested by the pods bound to them that have not finished.
func Usage(ctx context.Context, c client.Client) ([]PoolUsage, error) {
	var nodes corev1.NodeList
	if err := c.List(ctx, &nodes, client.HasLabels{AcceleratorLabel}); err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	byNode := map[string]string{}
	usage := map[string]*PoolUsage{}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		accel := n.Labels[AcceleratorLabel]
		byNode[n.Name] = accel
		u := usage[accel]
		if u == nil {
			u = &PoolUsage{Accelerator: accel}
			usage[accel] = u
		}
		u.Nodes++
		if q, ok := n.Status.Allocatable[AcceleratorOf(accel).Resource]; ok {
			u.Allocatable += q.Value()
		}
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		accel, ok := byNode[p.Spec.NodeName]
		if !ok || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		resName := AcceleratorOf(accel).Resource
		for _, ctr := range p.Spec.Containers {
			// Extended resources are requested through limits; requests
			// default to them.
			if q, ok := ctr.Resources.Limits[resName]; ok {
				usage[accel].Used += q.Value()
			} else if q, ok := ctr.Resources.Requests[resName]; ok {
				usage[accel].Used += q.Value()
			}
		}
	}
	out := make([]PoolUsage, 0, len(usage))
	for _, u := range usage {
		out = append(out, *u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Accelerator < out[j].Accelerator })
	return out, nil
}

// GPUDeployment is a Deployment of replicas pods that each request count
// accelerators of one type, as a variant's workload.
func GPUDeployment(name, namespace, accelerator string, count, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       GPUPodSpec(accelerator, count),
			},
		},
	}
}
