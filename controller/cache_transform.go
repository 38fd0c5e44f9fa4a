package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// The manager's cache keeps only what the operator reads: at 10,000 VAs the
// managed fields were a fifth of the cache and the Deployments' pod templates
// another tenth (docs/performance.md). Every transform returns objects of
// other types (such as the informer's tombstones) unchanged.

// stripManagedFields drops metadata.managedFields, which the operator never
// reads, from every cached object (cache.Options.DefaultTransform).
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
		m.GetObjectMeta().SetManagedFields(nil)
	}
	return obj, nil
}

// slimMeta is the metadata the operator and the informers use: identity,
// version, labels and owners; no managed fields, no annotations.
func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion,
		Generation: m.Generation, CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp,
		Labels: m.Labels, OwnerReferences: m.OwnerReferences,
	}
}

// slimDeployment keeps what the snapshot (modelgroup.Snapshotter.target),
// the Deployment mapper (modelgroup.DeploymentScaleChanged) and the gateway's
// wake check read: spec.replicas and the replica counts of the status. The
// pod template, selector, strategy and conditions are dropped.
func slimDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	meta := slimMeta(d.ObjectMeta)
	// The one annotation the operator reads: the opt-in to /scale actuation
	// (issue 12, llmd.ai/scaled-by).
	if v, ok := d.Annotations[llmdv1alpha1.AnnotationScaledBy]; ok {
		meta.Annotations = map[string]string{llmdv1alpha1.AnnotationScaledBy: v}
	}
	return &appsv1.Deployment{
		TypeMeta:   d.TypeMeta,
		ObjectMeta: meta,
		Spec:       appsv1.DeploymentSpec{Replicas: d.Spec.Replicas},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: d.Status.ObservedGeneration, Replicas: d.Status.Replicas,
			UpdatedReplicas: d.Status.UpdatedReplicas, ReadyReplicas: d.Status.ReadyReplicas,
			AvailableReplicas: d.Status.AvailableReplicas, UnavailableReplicas: d.Status.UnavailableReplicas,
		},
	}, nil
}

// slimPod keeps what the capacity arbiter reads (capacity_inventory.go):
// owners and the pod-template-hash label, the containers' resources, the
// node, the phase and the conditions.
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	resources := func(cs []corev1.Container) []corev1.Container {
		out := make([]corev1.Container, len(cs))
		for i, c := range cs {
			out[i] = corev1.Container{Name: c.Name, Resources: c.Resources}
		}
		return out
	}
	return &corev1.Pod{
		TypeMeta:   p.TypeMeta,
		ObjectMeta: slimMeta(p.ObjectMeta),
		Spec: corev1.PodSpec{
			NodeName: p.Spec.NodeName, Containers: resources(p.Spec.Containers),
			InitContainers: resources(p.Spec.InitContainers),
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase, Conditions: p.Status.Conditions},
	}, nil
}

// slimNode drops the managed fields and the node's image list (often the
// largest part of a Node); the arbiter reads labels, spec.unschedulable,
// allocatable and the conditions.
func slimNode(obj any) (any, error) {
	n, ok := obj.(*corev1.Node)
	if !ok {
		return obj, nil
	}
	n.ManagedFields = nil
	n.Status.Images = nil
	return n, nil
}
