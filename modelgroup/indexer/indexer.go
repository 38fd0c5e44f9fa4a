// Package indexer holds the field indexes the operator reads the cache through,
// so that every event finds the objects it touches without listing all VAs.
package indexer

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Index keys, named after the field paths they index.
const (
	// VAModelIDKey finds the members of a model group.
	VAModelIDKey = "spec.modelID"
	// VAScaleTargetKey finds the VAs that target a workload ("Kind/name").
	VAScaleTargetKey = "spec.scaleTargetRef"
	// VAAcceleratorKey finds the VAs whose cost depends on an accelerator's unit cost.
	VAAcceleratorKey = "spec.accelerator"
	// VAServiceClassKey finds the VAs that name a service class.
	VAServiceClassKey = "spec.serviceClass"
)

// ScaleTargetValue is the VAScaleTargetKey value of a workload.
func ScaleTargetValue(kind, name string) string { return kind + "/" + name }

func asVA(obj client.Object) *llmdv1alpha1.VariantAutoscaling {
	va, _ := obj.(*llmdv1alpha1.VariantAutoscaling)
	return va
}

// IndexVAModelID indexes a VA by spec.modelID.
func IndexVAModelID(obj client.Object) []string {
	if va := asVA(obj); va != nil && va.Spec.ModelID != "" {
		return []string{va.Spec.ModelID}
	}
	return nil
}

// IndexVAScaleTarget indexes a VA by the kind and name of its scale target.
func IndexVAScaleTarget(obj client.Object) []string {
	if va := asVA(obj); va != nil && va.Spec.ScaleTargetRef.Name != "" {
		kind := va.Spec.ScaleTargetRef.Kind
		if kind == "" {
			kind = "Deployment"
		}
		return []string{ScaleTargetValue(kind, va.Spec.ScaleTargetRef.Name)}
	}
	return nil
}

// IndexVAAccelerator indexes a VA by spec.accelerator, only when its cost comes
// from the accelerator's unit cost (no spec.variantCost).
func IndexVAAccelerator(obj client.Object) []string {
	if va := asVA(obj); va != nil && va.Spec.Accelerator != "" && va.Spec.VariantCost == "" {
		return []string{va.Spec.Accelerator}
	}
	return nil
}

// IndexVAServiceClass indexes a VA by spec.serviceClass when set.
func IndexVAServiceClass(obj client.Object) []string {
	if va := asVA(obj); va != nil && va.Spec.ServiceClass != "" {
		return []string{va.Spec.ServiceClass}
	}
	return nil
}

// Setup registers every index with the manager's field indexer.
func Setup(ctx context.Context, indexer client.FieldIndexer) error {
	indexes := []struct {
		key string
		fn  client.IndexerFunc
	}{
		{VAModelIDKey, IndexVAModelID},
		{VAScaleTargetKey, IndexVAScaleTarget},
		{VAAcceleratorKey, IndexVAAccelerator},
		{VAServiceClassKey, IndexVAServiceClass},
	}
	for _, ix := range indexes {
		if err := indexer.IndexField(ctx, &llmdv1alpha1.VariantAutoscaling{}, ix.key, ix.fn); err != nil {
			return fmt.Errorf("setting up the %s index: %w", ix.key, err)
		}
	}
	return nil
}
