package api

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func TestDefaultsOnMinimalVariantAutoscaling(t *testing.T) {
	ctx := context.Background()
	// The smallest object a user can write: only required fields.
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": llmdv1alpha1.GroupVersion.String(),
		"kind":       "VariantAutoscaling",
		"metadata":   map[string]any{"name": "minimal", "namespace": namespace},
		"spec": map[string]any{
			"scaleTargetRef": map[string]any{"name": "minimal"},
			"modelID":        "llama",
			"accelerator":    "H100",
			"profile": map[string]any{
				"maxBatchSize": int64(8),
				"decode":       map[string]any{"alpha": "10", "beta": "0.5"},
				"prefill":      map[string]any{"gamma": "5", "delta": "0.01"},
			},
		},
	}}
	if err := env.Client.Create(ctx, u); err != nil {
		t.Fatalf("creating a minimal VA: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, u) })

	var got llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(u), &got); err != nil {
		t.Fatal(err)
	}
	want := llmdv1alpha1.VariantAutoscalingSpec{
		ScaleTargetRef:   llmdv1alpha1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "minimal"},
		ModelID:          "llama",
		Accelerator:      "H100",
		AcceleratorCount: 1,
		MinReplicas:      0,
		Mode:             llmdv1alpha1.ModeAuto,
		ProfileSource:    llmdv1alpha1.ProfileSourceAuto,
		Profile: llmdv1alpha1.Profile{
			MaxBatchSize: 8,
			Decode:       llmdv1alpha1.DecodeParameters{Alpha: "10", Beta: "0.5"},
			Prefill:      llmdv1alpha1.PrefillParameters{Gamma: "5", Delta: "0.01"},
		},
	}
	if diff := cmp.Diff(want, got.Spec); diff != "" {
		t.Errorf("defaulted spec mismatch (-want +got):\n%s", diff)
	}
}
