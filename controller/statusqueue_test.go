package controller

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// startQueue runs q until the test ends.
func startQueue(t *testing.T, q *StatusQueue) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func drainEvents(f *fixture) []string {
	var out []string
	for {
		select {
		case e := <-f.recorder.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

// With a status queue, Reconcile actuates and returns without writing; a
// second Reconcile before the writes sees the queued decisions (no new
// Events, nothing queued again); the workers then write each status once.
func TestReconcileActuatesBeforeQueuedStatusWrites(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{}, llamaGroup()...)
	q := NewStatusQueue(f.client, f.client, f.metrics, 2)
	f.rec.statuses = q
	ctx := context.Background()

	if _, err := f.rec.Reconcile(ctx, llamaKey); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]scaleCall{{"l", 2}}, f.takeScales()); diff != "" {
		t.Errorf("/scale calls (-want +got):\n%s", diff)
	}
	for _, name := range []string{"h", "l"} {
		if f.patchesOf(name) != 0 {
			t.Errorf("%s: status written in Reconcile", name)
		}
		if _, ok := q.Pending(types.NamespacedName{Namespace: "ns", Name: name}); !ok {
			t.Errorf("%s: no status queued", name)
		}
	}
	if got := testutil.ToFloat64(f.metrics.StatusWritesPending); got != 2 {
		t.Errorf("pending writes %v, want 2", got)
	}
	if events := drainEvents(f); len(events) == 0 {
		t.Error("no Event for the decision")
	}

	if _, err := f.rec.Reconcile(ctx, llamaKey); err != nil {
		t.Fatal(err)
	}
	if events := drainEvents(f); len(events) != 0 {
		t.Errorf("a reconcile before the writes repeated Events: %v", events)
	}

	startQueue(t, q)
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		for name, want := range map[string]int32{"h": 1, "l": 2} {
			g.Expect(f.va(t, name).Status.DesiredReplicas).To(Equal(ptr.To(want)), name)
		}
		g.Expect(testutil.ToFloat64(f.metrics.StatusWritesPending)).To(BeZero())
	}).WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
	g.Expect(map[string]int{"h": f.patchesOf("h"), "l": f.patchesOf("l")}).To(Equal(map[string]int{"h": 1, "l": 1}))
}

// A newer status replaces one not yet written: only the latest is written.
func TestStatusQueueWritesOnlyTheLatest(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{}, builders.MakeVA("h", "ns").Model("llama").Obj())
	q := NewStatusQueue(f.client, f.client, f.metrics, 1)
	va := f.va(t, "h")
	for _, n := range []int32{3, 4, 5} {
		q.Submit(va, llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To(n)})
	}
	startQueue(t, q)
	NewWithT(t).Eventually(func() *int32 { return f.va(t, "h").Status.DesiredReplicas }).
		WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(Equal(ptr.To[int32](5)))
	if n := f.patchesOf("h"); n != 1 {
		t.Errorf("%d status patches, want 1", n)
	}
}

// A failed write stays pending and is retried until it succeeds; a VA that
// no longer exists needs no status and leaves the queue.
func TestStatusQueueRetriesFailuresAndDropsDeletedVAs(t *testing.T) {
	var failures atomic.Int32
	f := newFixture(t, interceptor.Funcs{
		SubResourcePatch: func(_ context.Context, _ client.Client, sub string, _ client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
			if sub == "status" && failures.Add(1) <= 2 {
				return errors.New("injected: the API server is unavailable")
			}
			return nil
		},
	}, builders.MakeVA("h", "ns").Model("llama").Obj())
	q := NewStatusQueue(f.client, f.client, f.metrics, 1)
	q.Submit(f.va(t, "h"), llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To[int32](7)})
	q.Submit(builders.MakeVA("gone", "ns").Model("llama").Obj(), llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To[int32](1)})
	startQueue(t, q)
	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		g.Expect(f.va(t, "h").Status.DesiredReplicas).To(Equal(ptr.To[int32](7)))
		_, pending := q.Pending(types.NamespacedName{Namespace: "ns", Name: "gone"})
		g.Expect(pending).To(BeFalse())
		g.Expect(testutil.ToFloat64(f.metrics.StatusWritesPending)).To(BeZero())
	}).WithTimeout(10 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
	g.Expect(failures.Load()).To(BeNumerically(">=", 3), "two failures, then the write")
}
