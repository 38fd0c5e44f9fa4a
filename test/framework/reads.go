package framework

import (
	"context"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// The reads tests poll inside Eventually: each fails g when the object
// cannot be read or lacks the field.

// GetVA reads a VariantAutoscaling with the admin client.
func (e *Env) GetVA(g gomega.Gomega, ns, name string) *llmdv1alpha1.VariantAutoscaling {
	var va llmdv1alpha1.VariantAutoscaling
	g.Expect(e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &va)).To(gomega.Succeed())
	return &va
}

// DesiredReplicas is a VA's status.desiredReplicas.
func (e *Env) DesiredReplicas(g gomega.Gomega, ns, name string) int32 {
	va := e.GetVA(g, ns, name)
	g.Expect(va.Status.DesiredReplicas).NotTo(gomega.BeNil(), "desired replicas of %s/%s", ns, name)
	return *va.Status.DesiredReplicas
}

// DeploymentReplicas is a Deployment's spec.replicas.
func (e *Env) DeploymentReplicas(g gomega.Gomega, ns, name string) int32 {
	var d appsv1.Deployment
	g.Expect(e.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d)).To(gomega.Succeed())
	g.Expect(d.Spec.Replicas).NotTo(gomega.BeNil(), "spec.replicas of Deployment %s/%s", ns, name)
	return *d.Spec.Replicas
}
