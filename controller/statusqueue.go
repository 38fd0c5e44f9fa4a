package controller

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// DefaultStatusWriters is the default number of status writes in flight:
// enough that the API server's Priority and Fairness, not the operator,
// sets the pace. Fewer writers leave more of a small API server to other
// clients and make the first start slower (docs/performance.md, "Status
// writers").
const DefaultStatusWriters = 16

// StatusQueue writes VA statuses on workers of its own, so that planning and
// actuating a group never wait for other groups' status writes (at 10,000
// VAs an all-groups change queued every actuation behind thousands of
// writes). It keeps only the latest wanted status per VA: a newer plan
// replaces a write not yet made. A failed write is retried with backoff.
type StatusQueue struct {
	client  client.Client
	fresh   client.Reader
	metrics *Metrics
	workers int
	queue   workqueue.TypedRateLimitingInterface[types.NamespacedName]

	mu      sync.Mutex
	pending map[types.NamespacedName]pendingStatus
	seq     uint64
}

type pendingStatus struct {
	status llmdv1alpha1.VariantAutoscalingStatus
	seq    uint64
}

// NewStatusQueue returns a queue that reads the VA to patch through c (the
// cache), patches with c, and re-reads through fresh on a conflict.
func NewStatusQueue(c client.Client, fresh client.Reader, m *Metrics, workers int) *StatusQueue {
	return &StatusQueue{
		client: c, fresh: fresh, metrics: m, workers: max(workers, 1),
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(retryRateLimiter[types.NamespacedName](),
			workqueue.TypedRateLimitingQueueConfig[types.NamespacedName]{Name: "status"}),
		pending: map[types.NamespacedName]pendingStatus{},
	}
}

// Submit queues status for the VA, replacing a write still pending.
func (q *StatusQueue) Submit(va *llmdv1alpha1.VariantAutoscaling, status llmdv1alpha1.VariantAutoscalingStatus) {
	key := client.ObjectKeyFromObject(va)
	q.mu.Lock()
	q.seq++
	q.pending[key] = pendingStatus{status: *status.DeepCopy(), seq: q.seq}
	q.metrics.StatusWritesPending.Set(float64(len(q.pending)))
	q.mu.Unlock()
	q.queue.Add(key)
}

// Pending returns the status waiting to be written for a VA: the operator's
// latest decision, which the cache has not seen yet. Nil-safe.
func (q *StatusQueue) Pending(key types.NamespacedName) (llmdv1alpha1.VariantAutoscalingStatus, bool) {
	if q == nil {
		return llmdv1alpha1.VariantAutoscalingStatus{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	p, ok := q.pending[key]
	if !ok {
		return llmdv1alpha1.VariantAutoscalingStatus{}, false
	}
	return *p.status.DeepCopy(), true
}

// Overlay gives va the status waiting to be written for it, if any: a
// decided status is the VA's status for the next plan, its Events and the
// global pass, though the cache has not seen it yet. Nil-safe.
func (q *StatusQueue) Overlay(va *llmdv1alpha1.VariantAutoscaling) {
	if st, ok := q.Pending(client.ObjectKeyFromObject(va)); ok {
		va.Status = st
	}
}

// NeedLeaderElection makes only the leader write.
func (*StatusQueue) NeedLeaderElection() bool { return true }

// Start runs the workers until ctx ends; writes still pending then are
// dropped (the next leader plans afresh).
func (q *StatusQueue) Start(ctx context.Context) error {
	var wg sync.WaitGroup
	for range q.workers {
		wg.Go(func() {
			for q.writeNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	q.queue.ShutDown()
	wg.Wait()
	return nil
}

// writeNext writes one VA's pending status; false when the queue shut down.
func (q *StatusQueue) writeNext(ctx context.Context) bool {
	key, shutdown := q.queue.Get()
	if shutdown {
		return false
	}
	defer q.queue.Done(key)
	q.mu.Lock()
	p, ok := q.pending[key]
	q.mu.Unlock()
	if !ok {
		q.queue.Forget(key)
		return true
	}
	err := q.write(ctx, key, p.status)
	q.mu.Lock()
	// A newer Submit during the write stays pending (and queued).
	if cur, ok := q.pending[key]; ok && cur.seq == p.seq && err == nil {
		delete(q.pending, key)
	}
	q.metrics.StatusWritesPending.Set(float64(len(q.pending)))
	q.mu.Unlock()
	if err != nil {
		log.FromContext(ctx).Error(err, "Writing a status; retrying", "variantAutoscaling", key)
		q.queue.AddRateLimited(key)
		return true
	}
	q.queue.Forget(key)
	return true
}

// write patches the VA's status from its cached copy, with optimistic
// locking (WriteStatus re-reads it afresh on a conflict). A deleted VA needs
// no status.
func (q *StatusQueue) write(ctx context.Context, key types.NamespacedName, status llmdv1alpha1.VariantAutoscalingStatus) error {
	var va llmdv1alpha1.VariantAutoscaling
	if err := q.client.Get(ctx, key, &va); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	if equality.Semantic.DeepEqual(va.Status, status) {
		return nil
	}
	q.metrics.StatusWrites.Inc()
	_, err := WriteStatus(ctx, q.client, q.fresh, &va, status)
	return err
}
