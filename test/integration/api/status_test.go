package api

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestStatusSubresourceLeavesSpecAndGenerationAlone(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("status", namespace).Model("llama").Obj()
	if err := env.Client.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
	before := va.DeepCopy()

	// A status write that also tries to change the spec: the status
	// subresource must ignore the spec part.
	va.Spec.ModelID = "changed-through-status"
	va.Status = llmdv1alpha1.VariantAutoscalingStatus{
		ObservedGeneration: va.Generation,
		CurrentReplicas:    2,
		DesiredReplicas:    ptr.To[int32](3),
		Decision: &llmdv1alpha1.Decision{
			LoadShare: "4.5", PredictedTTFT: "120", PredictedITL: "18", CostPerHour: "300",
			Reason: llmdv1alpha1.ReasonLoadChange,
		},
	}
	meta.SetStatusCondition(&va.Status.Conditions, metav1.Condition{
		Type: llmdv1alpha1.ConditionOptimized, Status: metav1.ConditionTrue,
		Reason: llmdv1alpha1.ConditionReasonSucceeded, Message: "planned", ObservedGeneration: va.Generation,
	})
	if err := env.Client.Status().Update(ctx, va); err != nil {
		t.Fatalf("status update: %v", err)
	}

	var got llmdv1alpha1.VariantAutoscaling
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(va), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before.Spec, got.Spec); diff != "" {
		t.Errorf("a status write changed the spec (-before +after):\n%s", diff)
	}
	if got.Generation != before.Generation {
		t.Errorf("generation = %d after a status write, want %d", got.Generation, before.Generation)
	}
	if got.Status.DesiredReplicas == nil || *got.Status.DesiredReplicas != 3 || got.Status.Decision.Reason != llmdv1alpha1.ReasonLoadChange {
		t.Errorf("status not stored: %+v", got.Status)
	}

	// And a spec write bumps the generation, so observedGeneration can lag.
	got.Spec.MinReplicas = 1
	if err := env.Client.Update(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got.Generation != before.Generation+1 {
		t.Errorf("generation = %d after a spec write, want %d", got.Generation, before.Generation+1)
	}
}
