package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Floor measures the write floor: the time the operator's client (same
// REST config, so the same QPS and burst) needs to write W status updates
// in a tight loop, with as many writers as the operator has workers. It
// writes to VAs of FloorNamespace, which the operator does not watch, with
// patches of the size and shape of the operator's (desired replicas,
// decision, conditions).
type Floor struct {
	c       client.Client
	workers int
	vas     []*llmdv1alpha1.VariantAutoscaling
	counter int
}

// floorStatus is a status like the operator writes.
func floorStatus(i int) llmdv1alpha1.VariantAutoscalingStatus {
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	st := llmdv1alpha1.VariantAutoscalingStatus{
		ObservedGeneration: 1,
		CurrentReplicas:    1,
		DesiredReplicas:    new(int32(1 + i%5)),
		Decision: &llmdv1alpha1.Decision{
			LoadShare: fmt.Sprintf("%d.25", i%100), PredictedTTFT: "812.4", PredictedITL: "31.7",
			CostPerHour: fmt.Sprintf("%d.00", 100+i%100), Reason: llmdv1alpha1.DecisionReason("LoadChange"),
			LastChangeTime: &now,
		},
	}
	for _, c := range []struct{ t, r, m string }{
		{llmdv1alpha1.ConditionTargetResolved, llmdv1alpha1.ConditionReasonTargetFound, "Deployment floor has 1 replicas"},
		{llmdv1alpha1.ConditionMetricsAvailable, llmdv1alpha1.ConditionReasonMetricsFound, "the model's load is known"},
		{llmdv1alpha1.ConditionOptimized, llmdv1alpha1.ConditionReasonSucceeded, fmt.Sprintf("%d replicas (loadchange)", 1+i%5)},
	} {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: c.t, Status: metav1.ConditionTrue, Reason: c.r,
			Message: c.m, ObservedGeneration: 1, LastTransitionTime: now})
	}
	return st
}

// newFloor creates count floor VAs with a status (setup client) and
// returns a Floor that writes with c.
func newFloor(ctx context.Context, setup, c client.Client, m *Model, count, workers int, p *progress) (*Floor, error) {
	f := &Floor{c: c, workers: max(1, workers)}
	template := m.VAs[0].Obj
	objs := make([]*llmdv1alpha1.VariantAutoscaling, count)
	for i := range objs {
		va := template.DeepCopy()
		va.Namespace, va.Name = FloorNamespace, fmt.Sprintf("floor-%05d", i)
		va.Spec.ScaleTargetRef.Name = va.Name
		va.ResourceVersion = ""
		objs[i] = va
	}
	err := parallel(ctx, 16, len(objs), func(i int) error {
		va := objs[i]
		if err := setup.Create(ctx, va); err != nil {
			return fmt.Errorf("creating floor VA %s: %w", va.Name, err)
		}
		base := va.DeepCopy()
		va.Status = floorStatus(i)
		if err := setup.Status().Patch(ctx, va, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("setting the status of floor VA %s: %w", va.Name, err)
		}
		if p != nil {
			p.add(1)
		}
		return nil
	})
	f.vas = objs
	return f, err
}

// Measure writes w status updates and returns the time it took. Each
// update changes the decision and a condition, as a changed plan does.
func (f *Floor) Measure(ctx context.Context, w int) (time.Duration, error) {
	if w <= 0 || len(f.vas) == 0 {
		return 0, nil
	}
	f.counter++
	round := f.counter
	workers := min(f.workers, len(f.vas))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	start := time.Now()
	for j := range workers {
		wg.Go(func() {
			// Writer j owns the VAs j, j+workers, ...: one writer per object.
			var owned []*llmdv1alpha1.VariantAutoscaling
			for i := j; i < len(f.vas); i += workers {
				owned = append(owned, f.vas[i])
			}
			k := 0
			for n := j; n < w; n += workers {
				va := owned[k%len(owned)]
				k++
				base := va.DeepCopy()
				st := floorStatus(n + round*7919)
				va.Status.DesiredReplicas = st.DesiredReplicas
				va.Status.Decision.LoadShare = st.Decision.LoadShare
				va.Status.Decision.CostPerHour = st.Decision.CostPerHour
				meta.SetStatusCondition(&va.Status.Conditions, metav1.Condition{Type: llmdv1alpha1.ConditionOptimized,
					Status: metav1.ConditionTrue, Reason: llmdv1alpha1.ConditionReasonSucceeded,
					Message: fmt.Sprintf("round %d write %d", round, n), ObservedGeneration: 1, LastTransitionTime: st.Decision.LastChangeTime.Rfc3339Copy()})
				if err := f.c.Status().Patch(ctx, va, client.MergeFrom(base)); err != nil {
					errs[j] = fmt.Errorf("floor write %d: %w", n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	d := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return d, err
		}
	}
	return d, nil
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first error.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}
