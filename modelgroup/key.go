// Package modelgroup defines the unit of work of the operator: the model group,
// all VariantAutoscalings of one model in one namespace. It holds the group key,
// the field indexes that find a group's members, the event-to-group mappers, the
// group snapshot and the LoadSource interface it reads loads through (the
// sources themselves live in package loadsource).
package modelgroup

import (
	"fmt"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Key identifies a model group. It is the reconcile request type, so the
// workqueue deduplicates every burst of events for one model into one run.
type Key struct {
	Namespace string
	ModelID   string
}

func (k Key) String() string { return fmt.Sprintf("%s/%s", k.Namespace, k.ModelID) }

// KeyOf returns the group a VariantAutoscaling belongs to.
func KeyOf(va *llmdv1alpha1.VariantAutoscaling) Key {
	return Key{Namespace: va.Namespace, ModelID: va.Spec.ModelID}
}
