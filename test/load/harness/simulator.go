package harness

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Simulator stands in for the Deployment controller and the kubelets that
// envtest does not run: it makes each Deployment's status follow its spec
// (replicas, ready, available, updated, observedGeneration). It keeps no
// copy of the objects, only what the next status write needs.
type Simulator struct {
	c          client.WithWatch
	namespaces map[string]bool
	queue      workqueue.TypedInterface[types.NamespacedName]

	mu      sync.Mutex
	desired map[types.NamespacedName]desiredStatus
	inSync  map[types.NamespacedName]bool
	synced  atomic.Int64
	// Writes counts status updates made.
	Writes atomic.Int64
}

type desiredStatus struct {
	replicas   int32
	generation int64
}

// StartSimulator starts watching Deployments with workers status writers.
func StartSimulator(ctx context.Context, c client.WithWatch, namespaces []string, workers int) *Simulator {
	s := &Simulator{c: c, namespaces: map[string]bool{}, queue: workqueue.NewTyped[types.NamespacedName](),
		desired: map[types.NamespacedName]desiredStatus{}, inSync: map[types.NamespacedName]bool{}}
	for _, ns := range namespaces {
		s.namespaces[ns] = true
	}
	go func() {
		<-ctx.Done()
		s.queue.ShutDown()
	}()
	go s.watch(ctx)
	for range workers {
		go s.work(ctx)
	}
	return s
}

// Synced is the number of Deployments whose status matches their spec.
func (s *Simulator) Synced() int { return int(s.synced.Load()) }

func (s *Simulator) watch(ctx context.Context) {
	rv := ""
	for ctx.Err() == nil {
		opts := &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}}
		if rv == "" {
			// Start from now: a fresh watch sends every object as ADDED first.
			opts.Raw.ResourceVersion = ""
		}
		w, err := s.c.Watch(ctx, &appsv1.DeploymentList{}, opts)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			rv = ""
			continue
		}
		rv = s.consume(ctx, w, rv)
	}
}

func (s *Simulator) consume(ctx context.Context, w watch.Interface, rv string) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			if ev.Type == watch.Error {
				return ""
			}
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			rv = d.ResourceVersion
			if ev.Type == watch.Bookmark || !s.namespaces[d.Namespace] {
				continue
			}
			s.observe(d, ev.Type == watch.Deleted)
		}
	}
}

func (s *Simulator) observe(d *appsv1.Deployment, deleted bool) {
	k := types.NamespacedName{Namespace: d.Namespace, Name: d.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	if deleted {
		delete(s.desired, k)
		s.setSyncLocked(k, false)
		delete(s.inSync, k)
		return
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	ok := st.Replicas == want && st.ReadyReplicas == want && st.AvailableReplicas == want &&
		st.UpdatedReplicas == want && st.ObservedGeneration == d.Generation
	s.setSyncLocked(k, ok)
	if !ok {
		s.desired[k] = desiredStatus{replicas: want, generation: d.Generation}
		s.queue.Add(k)
	}
}

func (s *Simulator) setSyncLocked(k types.NamespacedName, ok bool) {
	was := s.inSync[k]
	s.inSync[k] = ok
	switch {
	case ok && !was:
		s.synced.Add(1)
	case !ok && was:
		s.synced.Add(-1)
	}
}

func (s *Simulator) work(ctx context.Context) {
	for {
		k, shutdown := s.queue.Get()
		if shutdown {
			return
		}
		s.mu.Lock()
		d, ok := s.desired[k]
		s.mu.Unlock()
		if ok {
			patch := fmt.Sprintf(`{"status":{"replicas":%d,"readyReplicas":%d,"availableReplicas":%d,"updatedReplicas":%d,"observedGeneration":%d}}`,
				d.replicas, d.replicas, d.replicas, d.replicas, d.generation)
			obj := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: k.Namespace, Name: k.Name}}
			if err := s.c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err == nil {
				s.Writes.Add(1)
			} else if ctx.Err() == nil && !isNotFound(err) {
				// Try again shortly; the watch will also re-add it.
				time.AfterFunc(200*time.Millisecond, func() { s.queue.Add(k) })
			}
		}
		s.queue.Done(k)
	}
}
