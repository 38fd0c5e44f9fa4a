package controller

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/test/builders"
)

var (
	managed = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply,
		FieldsV1: metav1.NewFieldsV1(`{"f:spec":{}}`)}}
	fullMeta = metav1.ObjectMeta{
		Name: "llama", Namespace: "team-a", UID: "u1", ResourceVersion: "42", Generation: 3,
		Labels:          map[string]string{"app": "llama", "pod-template-hash": "abc"},
		Annotations:     map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "llama-abc", Controller: ptr.To(true)}},
		ManagedFields:   managed,
	}
	keptMeta = metav1.ObjectMeta{
		Name: "llama", Namespace: "team-a", UID: "u1", ResourceVersion: "42", Generation: 3,
		Labels:          fullMeta.Labels,
		OwnerReferences: fullMeta.OwnerReferences,
	}
	gpu = corev1.ResourceList{"nvidia.com/gpu": resource.MustParse("2")}
)

func TestCacheTransforms(t *testing.T) {
	va := builders.MakeVA("llama", "team-a").Model("m").Obj()
	va.ManagedFields = managed
	va.Annotations = map[string]string{"note": "kept"}
	wantVA := va.DeepCopy()
	wantVA.ManagedFields = nil
	tombstone := cache.DeletedFinalStateUnknown{Key: "team-a/llama", Obj: &appsv1.Deployment{ObjectMeta: fullMeta}}

	for name, tc := range map[string]struct {
		transform func(any) (any, error)
		in        any
		want      any
	}{
		"default: a VA loses only its managed fields": {
			transform: stripManagedFields, in: va, want: wantVA,
		},
		"default: a ConfigMap keeps its data": {
			transform: stripManagedFields,
			in:        &corev1.ConfigMap{ObjectMeta: fullMeta, Data: map[string]string{"k": "v"}},
			want: &corev1.ConfigMap{ObjectMeta: func() metav1.ObjectMeta {
				m := *fullMeta.DeepCopy()
				m.ManagedFields = nil
				return m
			}(), Data: map[string]string{"k": "v"}},
		},
		"deployment: replicas and status counts kept, template and selector dropped": {
			transform: slimDeployment,
			in: &appsv1.Deployment{
				ObjectMeta: fullMeta,
				Spec: appsv1.DeploymentSpec{
					Replicas: ptr.To[int32](3),
					Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "llama"}},
					Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "vllm:1"}}}},
				},
				Status: appsv1.DeploymentStatus{
					ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2,
					UnavailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable}},
				},
			},
			want: &appsv1.Deployment{
				ObjectMeta: keptMeta,
				Spec:       appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)},
				Status: appsv1.DeploymentStatus{
					ObservedGeneration: 3, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2,
					UnavailableReplicas: 1,
				},
			},
		},
		"deployment: a tombstone passes unchanged": {
			transform: slimDeployment, in: tombstone, want: tombstone,
		},
		"pod: resources, node, phase and conditions kept": {
			transform: slimPod,
			in: &corev1.Pod{
				ObjectMeta: fullMeta,
				Spec: corev1.PodSpec{
					NodeName: "n1", ServiceAccountName: "sa", Volumes: []corev1.Volume{{Name: "v"}},
					Containers: []corev1.Container{{Name: "vllm", Image: "vllm:1", Args: []string{"--x"},
						Env: []corev1.EnvVar{{Name: "A", Value: "b"}}, Resources: corev1.ResourceRequirements{Requests: gpu, Limits: gpu}}},
					InitContainers: []corev1.Container{{Name: "init", Image: "busybox", Resources: corev1.ResourceRequirements{Requests: gpu}}},
				},
				Status: corev1.PodStatus{
					Phase: corev1.PodPending, PodIP: "10.0.0.1",
					Conditions:        []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}},
					ContainerStatuses: []corev1.ContainerStatus{{Name: "vllm"}},
				},
			},
			want: &corev1.Pod{
				ObjectMeta: keptMeta,
				Spec: corev1.PodSpec{
					NodeName:       "n1",
					Containers:     []corev1.Container{{Name: "vllm", Resources: corev1.ResourceRequirements{Requests: gpu, Limits: gpu}}},
					InitContainers: []corev1.Container{{Name: "init", Resources: corev1.ResourceRequirements{Requests: gpu}}},
				},
				Status: corev1.PodStatus{
					Phase:      corev1.PodPending,
					Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable}},
				},
			},
		},
		"node: images and managed fields dropped, the rest kept": {
			transform: slimNode,
			in: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"gpu": "H100"}, ManagedFields: managed},
				Spec:       corev1.NodeSpec{Unschedulable: true},
				Status: corev1.NodeStatus{Allocatable: gpu, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
					Images: []corev1.ContainerImage{{Names: []string{"vllm:1"}, SizeBytes: 1 << 30}}},
			},
			want: &corev1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"gpu": "H100"}},
				Spec:       corev1.NodeSpec{Unschedulable: true},
				Status:     corev1.NodeStatus{Allocatable: gpu, Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := tc.transform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("transformed object (-want +got):\n%s", diff)
			}
		})
	}
}

// CacheOptions installs the transforms: the default one for every type and
// the slim ones for the types the operator reads only in part.
func TestCacheOptionsTransforms(t *testing.T) {
	opts := CacheOptions("cfg", []string{"a"})
	if opts.DefaultTransform == nil {
		t.Fatal("no default transform: managed fields would be cached")
	}
	want := map[string]bool{"*v1.Deployment": true, "*v1.Pod": true, "*v1.Node": true, "*v1.ConfigMap": false}
	got := map[string]bool{}
	for obj, by := range opts.ByObject {
		got[fmt.Sprintf("%T", obj)] = by.Transform != nil
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("types with a transform (-want +got):\n%s", diff)
	}
}
