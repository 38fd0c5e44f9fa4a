// Package v1alpha1 holds the VariantAutoscaling API of the llmd.ai group.
//
// +kubebuilder:object:generate=true
// +groupName=llmd.ai
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "llmd.ai", Version: "v1alpha1"}

	schemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this package to a runtime.Scheme.
	AddToScheme = schemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &VariantAutoscaling{}, &VariantAutoscalingList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
