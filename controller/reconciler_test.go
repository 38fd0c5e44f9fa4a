package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

var vaResource = schema.GroupResource{Group: "llmd.ai", Resource: "variantautoscalings"}

func conditionOf(va *llmdv1alpha1.VariantAutoscaling, condType string) string {
	c := meta.FindStatusCondition(va.Status.Conditions, condType)
	if c == nil {
		return ""
	}
	return string(c.Status) + "/" + c.Reason
}

func TestReconcilePlansWritesOnceAndActuates(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{}, llamaGroup()...)
	ctx := context.Background()

	res, err := f.rec.Reconcile(ctx, llamaKey)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter <= 0 {
		t.Errorf("result %+v: want a RequeueAfter (the optimization interval at the latest)", res)
	}
	// 30 req/s: the cheap L40S variant goes to its maximum of 2, H100 keeps 1.
	if diff := gocmp.Diff([]scaleCall{{"l", 2}}, f.takeScales()); diff != "" {
		t.Errorf("/scale calls (-want +got):\n%s", diff)
	}
	for name, want := range map[string]int32{"h": 1, "l": 2} {
		va := f.va(t, name)
		if va.Status.DesiredReplicas == nil || *va.Status.DesiredReplicas != want {
			t.Errorf("%s: desired replicas %v, want %d", name, va.Status.DesiredReplicas, want)
		}
		if got := conditionOf(va, llmdv1alpha1.ConditionOptimized); got != "True/Succeeded" {
			t.Errorf("%s: Optimized %s", name, got)
		}
		if f.patchesOf(name) != 1 {
			t.Errorf("%s: %d status patches, want 1", name, f.patchesOf(name))
		}
	}

	// The next reconcile sees l's target at 2 (its decision becomes
	// Optimal); after that the same input writes and scales nothing.
	for range 2 {
		f.clock.Step(res.RequeueAfter)
		if _, err := f.rec.Reconcile(ctx, llamaKey); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.takeScales(); len(got) != 0 {
		t.Errorf("later reconciles scaled %v", got)
	}
	if diff := gocmp.Diff(map[string]int{"h": 1, "l": 2}, map[string]int{"h": f.patchesOf("h"), "l": f.patchesOf("l")}); diff != "" {
		t.Errorf("status patches (-want +got):\n%s", diff)
	}
}

func TestReconcileStatusConflictIsRetriedWithoutRequeueAfter(t *testing.T) {
	conflict := true
	f := newFixture(t, interceptor.Funcs{
		SubResourcePatch: func(_ context.Context, _ client.Client, sub string, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
			if sub == "status" && obj.GetName() == "l" && conflict {
				return apierrors.NewConflict(vaResource, "l", errors.New("the object has been modified"))
			}
			return nil
		},
	}, llamaGroup()...)
	ctx := context.Background()

	res, err := f.rec.Reconcile(ctx, llamaKey)
	if !apierrors.IsConflict(err) {
		t.Fatalf("error %v: want the conflict, so that controller-runtime retries with backoff", err)
	}
	if res != (reconcile.Result{}) {
		t.Errorf("result %+v with an error: controller-runtime would ignore it", res)
	}
	// The conflict on l neither stops h's status nor l's actuation.
	if f.patchesOf("h") != 1 || f.patchesOf("l") != 0 {
		t.Errorf("status patches h %d, l %d; want 1 and 0", f.patchesOf("h"), f.patchesOf("l"))
	}
	if diff := gocmp.Diff([]scaleCall{{"l", 2}}, f.takeScales()); diff != "" {
		t.Errorf("/scale calls (-want +got):\n%s", diff)
	}

	// The retry writes l's status and asks for its own time again.
	conflict = false
	res, err = f.rec.Reconcile(ctx, llamaKey)
	if err != nil || res.RequeueAfter <= 0 {
		t.Fatalf("retry: result %+v, error %v", res, err)
	}
	if f.patchesOf("h") != 1 || f.patchesOf("l") != 1 {
		t.Errorf("retry: status patches h %d, l %d; want 1 each", f.patchesOf("h"), f.patchesOf("l"))
	}
	if got := f.takeScales(); len(got) != 0 {
		t.Errorf("retry scaled again: %v", got)
	}
}

func TestReconcileScaleErrorIsRetriedWithoutRequeueAfter(t *testing.T) {
	forbidden := true
	f := newFixture(t, interceptor.Funcs{
		SubResourcePatch: func(_ context.Context, _ client.Client, sub string, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
			if sub == "scale" && obj.GetName() == "l" && forbidden {
				return apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments/scale"}, "l", errors.New("RBAC"))
			}
			return nil
		},
	}, llamaGroup()...)
	ctx := context.Background()

	res, err := f.rec.Reconcile(ctx, llamaKey)
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "scaling Deployment ns/l to 2") {
		t.Fatalf("error %v: want the /scale error naming the target", err)
	}
	if res != (reconcile.Result{}) {
		t.Errorf("result %+v with an error: controller-runtime would ignore it", res)
	}
	// The decision is recorded in the status although the scale failed.
	if d := f.va(t, "l").Status.DesiredReplicas; d == nil || *d != 2 {
		t.Errorf("l: desired replicas %v, want 2", d)
	}
	if got := f.takeScales(); len(got) != 0 {
		t.Errorf("/scale calls %v, want none through", got)
	}

	// The retry scales l (its Deployment still has 1 replica) and rewrites nothing.
	forbidden = false
	res, err = f.rec.Reconcile(ctx, llamaKey)
	if err != nil || res.RequeueAfter <= 0 {
		t.Fatalf("retry: result %+v, error %v", res, err)
	}
	if diff := gocmp.Diff([]scaleCall{{"l", 2}}, f.takeScales()); diff != "" {
		t.Errorf("retry /scale calls (-want +got):\n%s", diff)
	}
	if f.patchesOf("l") != 1 {
		t.Errorf("retry rewrote l's unchanged status (%d patches)", f.patchesOf("l"))
	}
}

func TestReconcileTargetReadFailureIsUnknownNotAFact(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*appsv1.Deployment); ok && key.Name == "l" {
				return apierrors.NewServiceUnavailable("etcd is slow")
			}
			return c.Get(ctx, key, obj, opts...)
		},
	}, llamaGroup()...)

	res, err := f.rec.Reconcile(context.Background(), llamaKey)
	if err == nil || !strings.Contains(err.Error(), "reading the scale target of ns/l") {
		t.Fatalf("error %v: want the read failure, so that the group is retried", err)
	}
	if res != (reconcile.Result{}) {
		t.Errorf("result %+v with an error", res)
	}
	l := f.va(t, "l")
	for cond, want := range map[string]string{
		llmdv1alpha1.ConditionTargetResolved: "Unknown/" + llmdv1alpha1.ConditionReasonTargetReadFailed,
		llmdv1alpha1.ConditionOptimized:      "Unknown/" + llmdv1alpha1.ConditionReasonTargetReadFailed,
	} {
		if got := conditionOf(l, cond); got != want {
			t.Errorf("l: %s = %s, want %s", cond, got, want)
		}
	}
	if l.Status.DesiredReplicas != nil {
		t.Errorf("l: desired replicas %d decided without reading its target", *l.Status.DesiredReplicas)
	}
	// h is planned as usual.
	if got := conditionOf(f.va(t, "h"), llmdv1alpha1.ConditionOptimized); got != "True/Succeeded" {
		t.Errorf("h: Optimized %s", got)
	}
	for _, c := range f.takeScales() {
		if c.Name == "l" {
			t.Errorf("l was scaled to %d although its target could not be read", c.Replicas)
		}
	}
}

func TestReconcileListFailureWritesNothing(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{
		List: func(context.Context, client.WithWatch, client.ObjectList, ...client.ListOption) error {
			return apierrors.NewTimeoutError("cache", 1)
		},
	}, llamaGroup()...)
	res, err := f.rec.Reconcile(context.Background(), llamaKey)
	if !apierrors.IsTimeout(err) || res != (reconcile.Result{}) {
		t.Fatalf("result %+v, error %v: want the list error alone", res, err)
	}
	if f.patchesOf("h")+f.patchesOf("l") != 0 || len(f.takeScales()) != 0 {
		t.Error("a failed read wrote statuses or scaled")
	}
}
