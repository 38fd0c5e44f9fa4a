// Package builders holds fluent test builders for VariantAutoscalings, Deployments
// and ConfigMap entries. It depends on no operator package, so unit tests of
// any package can use it.
package builders

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// VAWrapper builds a VariantAutoscaling fluently:
// MakeVA("a", "ns").Model("m").Accelerator("H100").Obj().
type VAWrapper struct {
	llmdv1alpha1.VariantAutoscaling
}

// MakeVA returns a valid VA named name in namespace ns, targeting the
// Deployment of the same name, with a plausible H100 profile.
func MakeVA(name, ns string) *VAWrapper {
	return &VAWrapper{llmdv1alpha1.VariantAutoscaling{
		TypeMeta:   metav1.TypeMeta{APIVersion: llmdv1alpha1.GroupVersion.String(), Kind: "VariantAutoscaling"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: llmdv1alpha1.VariantAutoscalingSpec{
			ScaleTargetRef: llmdv1alpha1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			ModelID:        "model",
			Accelerator:    "H100",
			Profile: llmdv1alpha1.Profile{
				MaxBatchSize: 64,
				Decode:       llmdv1alpha1.DecodeParameters{Alpha: "8", Beta: "0.3"},
				Prefill:      llmdv1alpha1.PrefillParameters{Gamma: "15", Delta: "0.02"},
			},
		},
	}}
}

// Obj returns a pointer to the built object.
func (w *VAWrapper) Obj() *llmdv1alpha1.VariantAutoscaling { return &w.VariantAutoscaling }

// Model sets spec.modelID.
func (w *VAWrapper) Model(m string) *VAWrapper { w.Spec.ModelID = m; return w }

// Accelerator sets spec.accelerator and, optionally, spec.acceleratorCount.
func (w *VAWrapper) Accelerator(a string) *VAWrapper { w.Spec.Accelerator = a; return w }

// AcceleratorCount sets spec.acceleratorCount.
func (w *VAWrapper) AcceleratorCount(n int32) *VAWrapper { w.Spec.AcceleratorCount = n; return w }

// Cost sets spec.variantCost.
func (w *VAWrapper) Cost(c string) *VAWrapper { w.Spec.VariantCost = c; return w }

// ServiceClass sets spec.serviceClass.
func (w *VAWrapper) ServiceClass(c string) *VAWrapper { w.Spec.ServiceClass = c; return w }

// Target sets the scale target's name (kind stays Deployment).
func (w *VAWrapper) Target(name string) *VAWrapper { w.Spec.ScaleTargetRef.Name = name; return w }

// TargetRef sets the whole scale target reference.
func (w *VAWrapper) TargetRef(apiVersion, kind, name string) *VAWrapper {
	w.Spec.ScaleTargetRef = llmdv1alpha1.ScaleTargetRef{APIVersion: apiVersion, Kind: kind, Name: name}
	return w
}

// Min sets spec.minReplicas.
func (w *VAWrapper) Min(n int32) *VAWrapper { w.Spec.MinReplicas = n; return w }

// Max sets spec.maxReplicas.
func (w *VAWrapper) Max(n int32) *VAWrapper { w.Spec.MaxReplicas = ptr.To(n); return w }

// Mode sets spec.mode.
func (w *VAWrapper) Mode(m llmdv1alpha1.Mode) *VAWrapper { w.Spec.Mode = m; return w }

// NoProfile clears spec.profile: the operator learns it.
func (w *VAWrapper) NoProfile() *VAWrapper { w.Spec.Profile = llmdv1alpha1.Profile{}; return w }

// Profile sets the decode and prefill parameters and the batch size.
func (w *VAWrapper) Profile(maxBatch int32, alpha, beta, gamma, delta string) *VAWrapper {
	w.Spec.Profile = llmdv1alpha1.Profile{
		MaxBatchSize: maxBatch,
		Decode:       llmdv1alpha1.DecodeParameters{Alpha: alpha, Beta: beta},
		Prefill:      llmdv1alpha1.PrefillParameters{Gamma: gamma, Delta: delta},
	}
	return w
}

// Label adds a label.
func (w *VAWrapper) Label(k, v string) *VAWrapper {
	if w.Labels == nil {
		w.Labels = map[string]string{}
	}
	w.Labels[k] = v
	return w
}

// DeploymentWrapper builds a Deployment fluently.
type DeploymentWrapper struct{ appsv1.Deployment }

// MakeDeployment returns a one-replica Deployment with a pause-like container.
func MakeDeployment(name, ns string) *DeploymentWrapper {
	labels := map[string]string{"app": name}
	return &DeploymentWrapper{appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "server", Image: "registry.k8s.io/pause:3.10",
				}}},
			},
		},
	}}
}

// Obj returns a pointer to the built object.
func (w *DeploymentWrapper) Obj() *appsv1.Deployment { return &w.Deployment }

// Replicas sets spec.replicas.
func (w *DeploymentWrapper) Replicas(n int32) *DeploymentWrapper {
	w.Spec.Replicas = ptr.To(n)
	return w
}

// ScaledBy sets the llmd.ai/scaled-by opt-in: the VAs (comma-separated, or
// "*") allowed to size the Deployment under --actuation=scale.
func (w *DeploymentWrapper) ScaledBy(vas string) *DeploymentWrapper {
	if w.Annotations == nil {
		w.Annotations = map[string]string{}
	}
	w.Annotations[llmdv1alpha1.AnnotationScaledBy] = vas
	return w
}

// ServiceClass renders one service-classes-config entry for models (any
// namespace) with the same SLO.
func ServiceClass(name string, priority int, ttft, itl float64, models ...string) string {
	s := fmt.Sprintf("name: %s\npriority: %d\ndata:\n", name, priority)
	for _, m := range models {
		s += fmt.Sprintf("  - model: %s\n    slo-ttft: %g\n    slo-tpot: %g\n", m, ttft, itl)
	}
	return s
}

// UnitCost renders one accelerator-unit-costs entry.
func UnitCost(device string, cost float64) string {
	return fmt.Sprintf(`{"device": %q, "cost": "%g"}`, device, cost)
}
