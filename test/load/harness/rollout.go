package harness

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// rolloutWatcher counts the Deployments that kube-controller-manager reports
// rolled out: every replica updated, available and ready, for the current
// generation. It watches and keeps one bool per Deployment, not the objects.
type rolloutWatcher struct {
	c          client.WithWatch
	namespaces map[string]bool

	mu    sync.Mutex
	ready map[types.NamespacedName]bool
	n     int
}

func newRolloutWatcher(c client.WithWatch, namespaces []string) *rolloutWatcher {
	w := &rolloutWatcher{c: c, namespaces: map[string]bool{}, ready: map[types.NamespacedName]bool{}}
	for _, ns := range namespaces {
		w.namespaces[ns] = true
	}
	return w
}

// rolledOut reports whether a Deployment's status shows all its replicas
// ready for its current spec.
func rolledOut(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	st := d.Status
	return st.ObservedGeneration >= d.Generation && st.Replicas == want && st.UpdatedReplicas == want &&
		st.ReadyReplicas == want && st.AvailableReplicas == want
}

// run watches until ctx ends, re-establishing the watch from scratch when it
// breaks (a fresh watch sends every object as ADDED first).
func (w *rolloutWatcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		wi, err := w.c.Watch(ctx, &appsv1.DeploymentList{}, &client.ListOptions{Raw: &metav1.ListOptions{AllowWatchBookmarks: true}})
		if err != nil {
			sleep(ctx, 200*time.Millisecond)
			continue
		}
		w.consume(ctx, wi)
	}
}

func (w *rolloutWatcher) consume(ctx context.Context, wi watch.Interface) {
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok || ev.Type == watch.Error {
				return
			}
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok || ev.Type == watch.Bookmark || !w.namespaces[d.Namespace] {
				continue
			}
			w.set(types.NamespacedName{Namespace: d.Namespace, Name: d.Name}, ev.Type != watch.Deleted && rolledOut(d))
		}
	}
}

func (w *rolloutWatcher) set(k types.NamespacedName, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch was := w.ready[k]; {
	case ok && !was:
		w.n++
	case !ok && was:
		w.n--
	}
	w.ready[k] = ok
}

// Ready is the number of rolled-out Deployments.
func (w *rolloutWatcher) Ready() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// notReady returns the first limit keys that are not rolled out.
func (w *rolloutWatcher) notReady(keys []types.NamespacedName, limit int) []types.NamespacedName {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []types.NamespacedName
	for _, k := range keys {
		if len(out) == limit {
			break
		}
		if !w.ready[k] {
			out = append(out, k)
		}
	}
	return out
}

// describeDeployment says where a Deployment's rollout stands, for errors.
func describeDeployment(ctx context.Context, c client.Client, k types.NamespacedName) string {
	var d appsv1.Deployment
	if err := c.Get(ctx, k, &d); err != nil {
		return fmt.Sprintf("%s: %v", k, err)
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	return fmt.Sprintf("%s: want %d, replicas %d, updated %d, ready %d, available %d, generation %d observed %d",
		k, want, d.Status.Replicas, d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas,
		d.Generation, d.Status.ObservedGeneration)
}
