package api

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

// toUnstructured turns a built VA into a map the cases can break freely.
func toUnstructured(t *testing.T, w *framework.VAWrapper) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(w.Obj())
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u
}

func set(path string, v any) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, v, strings.Split(path, ".")...); err != nil {
			panic(err)
		}
	}
}

func remove(path string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		unstructured.RemoveNestedField(u.Object, strings.Split(path, ".")...)
	}
}

func TestInvalidVariantAutoscalingsAreRejected(t *testing.T) {
	ctx := context.Background()
	strict := client.WithFieldValidation(env.Client, metav1.FieldValidationStrict)
	cases := map[string]struct {
		mutate []func(*unstructured.Unstructured)
		// wantInError are fragments the API server's message must contain: the
		// offending field and what is wrong with it.
		wantInError []string
	}{
		"empty modelID": {
			mutate:      []func(*unstructured.Unstructured){set("spec.modelID", "")},
			wantInError: []string{"spec.modelID", "at least 1 chars long"},
		},
		"missing modelID": {
			mutate:      []func(*unstructured.Unstructured){remove("spec.modelID")},
			wantInError: []string{"spec.modelID", "Required value"},
		},
		"maxReplicas below minReplicas": {
			mutate:      []func(*unstructured.Unstructured){set("spec.minReplicas", int64(3)), set("spec.maxReplicas", int64(2))},
			wantInError: []string{"spec", "must be greater than or equal to minReplicas"},
		},
		"minReplicas typo (issue 12)": {
			mutate:      []func(*unstructured.Unstructured){set("spec.minReplicas", int64(100000))},
			wantInError: []string{"spec.minReplicas", "10000"},
		},
		"maxReplicas above the API maximum (issue 12)": {
			mutate:      []func(*unstructured.Unstructured){set("spec.maxReplicas", int64(10001))},
			wantInError: []string{"spec.maxReplicas", "10000"},
		},
		"variantCost with ten integer digits (issue 12)": {
			mutate:      []func(*unstructured.Unstructured){set("spec.variantCost", "1000000001")},
			wantInError: []string{"spec.variantCost", "should match"},
		},
		"negative minReplicas": {
			mutate:      []func(*unstructured.Unstructured){set("spec.minReplicas", int64(-1))},
			wantInError: []string{"spec.minReplicas", "greater than or equal to 0"},
		},
		"zero acceleratorCount": {
			mutate:      []func(*unstructured.Unstructured){set("spec.acceleratorCount", int64(0))},
			wantInError: []string{"spec.acceleratorCount", "greater than or equal to 1"},
		},
		"alpha not a number": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.decode.alpha", "abc")},
			wantInError: []string{"spec.profile.decode.alpha", "should match"},
		},
		"negative alpha": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.decode.alpha", "-1")},
			wantInError: []string{"spec.profile.decode.alpha", "should match"},
		},
		"zero alpha": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.decode.alpha", "0.0")},
			wantInError: []string{"spec.profile.decode.alpha", "must be greater than 0"},
		},
		"alpha as a number": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.decode.alpha", int64(5))},
			wantInError: []string{"spec.profile.decode.alpha", "must be of type string"},
		},
		"beta with two dots": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.decode.beta", "1.5.2")},
			wantInError: []string{"spec.profile.decode.beta", "should match"},
		},
		"missing prefill delta": {
			mutate:      []func(*unstructured.Unstructured){remove("spec.profile.prefill.delta")},
			wantInError: []string{"spec.profile.prefill.delta", "Required value"},
		},
		"variantCost with exponent and garbage": {
			mutate:      []func(*unstructured.Unstructured){set("spec.variantCost", "1e9x")},
			wantInError: []string{"spec.variantCost", "should match"},
		},
		"unknown mode": {
			mutate:      []func(*unstructured.Unstructured){set("spec.mode", "Aggressive")},
			wantInError: []string{"spec.mode", `supported values: "Auto", "Preview"`},
		},
		"missing scaleTargetRef.name": {
			mutate:      []func(*unstructured.Unstructured){remove("spec.scaleTargetRef.name")},
			wantInError: []string{"spec.scaleTargetRef.name", "Required value"},
		},
		"empty scaleTargetRef.name": {
			mutate:      []func(*unstructured.Unstructured){set("spec.scaleTargetRef.name", "")},
			wantInError: []string{"spec.scaleTargetRef.name", "at least 1 chars long"},
		},
		"zero maxBatchSize": {
			mutate:      []func(*unstructured.Unstructured){set("spec.profile.maxBatchSize", int64(0))},
			wantInError: []string{"spec.profile.maxBatchSize", "greater than or equal to 1"},
		},
		"missing accelerator": {
			mutate:      []func(*unstructured.Unstructured){remove("spec.accelerator")},
			wantInError: []string{"spec.accelerator", "Required value"},
		},
		"unknown field under strict decoding": {
			mutate:      []func(*unstructured.Unstructured){set("spec.replicaz", int64(3))},
			wantInError: []string{`unknown field "spec.replicaz"`},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := toUnstructured(t, framework.MakeVA("invalid", namespace))
			for _, m := range tc.mutate {
				m(u)
			}
			err := strict.Create(ctx, u)
			if err == nil {
				_ = env.Client.Delete(ctx, u)
				t.Fatalf("the API server accepted an invalid VA: %v", u.Object["spec"])
			}
			if !apierrors.IsInvalid(err) && !apierrors.IsBadRequest(err) {
				t.Fatalf("error = %v, want Invalid or BadRequest", err)
			}
			for _, want := range tc.wantInError {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestValidVariantAutoscalingIsAccepted(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("valid-full", namespace).Model("llama").Accelerator("A100").AcceleratorCount(2).
		Cost("80.5").ServiceClass("premium").Min(1).Max(1).Mode("Preview").Obj()
	if err := client.WithFieldValidation(env.Client, metav1.FieldValidationStrict).Create(ctx, va); err != nil {
		t.Fatalf("creating a valid VA with every field set: %v", err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
}
