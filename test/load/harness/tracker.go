package harness

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Tracker watches every VA of the load namespaces and keeps the summary of
// its status, so that the harness sees when each status reaches what it
// expects and when (the time the watch event arrived).
type Tracker struct {
	c          client.WithWatch
	namespaces map[string]bool

	mu      sync.Mutex
	current map[types.NamespacedName]Summary
	// changes counts observed status changes (not creations or deletes).
	changes int
	exp     *Expectation
}

// NewTracker lists the VAs and starts watching them until ctx ends.
func NewTracker(ctx context.Context, c client.WithWatch, namespaces []string) (*Tracker, error) {
	t := &Tracker{c: c, namespaces: map[string]bool{}, current: map[types.NamespacedName]Summary{}}
	for _, ns := range namespaces {
		t.namespaces[ns] = true
	}
	rv, err := t.relist(ctx)
	if err != nil {
		return nil, err
	}
	go t.loop(ctx, rv)
	return t, nil
}

func (t *Tracker) relist(ctx context.Context) (string, error) {
	var list llmdv1alpha1.VariantAutoscalingList
	if err := t.c.List(ctx, &list); err != nil {
		return "", fmt.Errorf("listing VAs: %w", err)
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	seen := map[types.NamespacedName]bool{}
	for i := range list.Items {
		va := &list.Items[i]
		if !t.namespaces[va.Namespace] {
			continue
		}
		k := types.NamespacedName{Namespace: va.Namespace, Name: va.Name}
		seen[k] = true
		t.observeLocked(k, Summarize(&va.Status), false, now)
	}
	for k := range t.current {
		if !seen[k] {
			t.observeLocked(k, Summary{}, true, now)
		}
	}
	return list.ResourceVersion, nil
}

func (t *Tracker) loop(ctx context.Context, rv string) {
	for ctx.Err() == nil {
		w, err := t.c.Watch(ctx, &llmdv1alpha1.VariantAutoscalingList{},
			&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
			if rv, err = t.relist(ctx); err != nil {
				time.Sleep(time.Second)
			}
			continue
		}
		rv = t.consume(ctx, w, rv)
	}
}

// consume handles the events of one watch and returns the resource version
// to resume from ("" after an error: relist).
func (t *Tracker) consume(ctx context.Context, w watch.Interface, rv string) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			now := time.Now()
			if ev.Type == watch.Error {
				newRV, err := t.relist(ctx)
				if err != nil {
					return rv
				}
				return newRV
			}
			va, ok := ev.Object.(*llmdv1alpha1.VariantAutoscaling)
			if !ok {
				continue
			}
			rv = va.ResourceVersion
			if ev.Type == watch.Bookmark || !t.namespaces[va.Namespace] {
				continue
			}
			k := types.NamespacedName{Namespace: va.Namespace, Name: va.Name}
			t.mu.Lock()
			t.observeLocked(k, Summarize(&va.Status), ev.Type == watch.Deleted, now)
			t.mu.Unlock()
		}
	}
}

func (t *Tracker) observeLocked(k types.NamespacedName, s Summary, deleted bool, now time.Time) {
	if deleted {
		delete(t.current, k)
	} else {
		old, existed := t.current[k]
		if existed && old != s {
			t.changes++
		}
		t.current[k] = s
	}
	if t.exp != nil {
		t.exp.observe(k, s, deleted, now)
	}
}

// Changes returns the number of status changes observed so far.
func (t *Tracker) Changes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changes
}

// Current returns the VA's last observed summary.
func (t *Tracker) Current(k types.NamespacedName) (Summary, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.current[k]
	return s, ok
}

// Expectation is what a phase waits for: every listed VA has the wanted
// status summary, every gone VA is deleted.
type Expectation struct {
	t0      time.Time
	want    map[types.NamespacedName]Summary
	gone    map[types.NamespacedName]bool
	matched map[types.NamespacedName]time.Time
	// affected are the keys that did not match when the expectation started.
	affected   []types.NamespacedName
	isAffected map[types.NamespacedName]bool
	pending    int
	done       chan struct{}
}

// Expect registers what the next phase must reach; t0 is set by Start. VAs
// already as wanted are not affected. Only one expectation is active.
func (t *Tracker) Expect(want map[types.NamespacedName]Summary, gone []types.NamespacedName) *Expectation {
	e := &Expectation{want: want, gone: map[types.NamespacedName]bool{}, matched: map[types.NamespacedName]time.Time{},
		done: make(chan struct{})}
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, s := range want {
		if cur, ok := t.current[k]; !ok || cur != s {
			e.affected = append(e.affected, k)
		}
	}
	for _, k := range gone {
		e.gone[k] = true
		if _, ok := t.current[k]; ok {
			e.affected = append(e.affected, k)
		}
	}
	slices.SortFunc(e.affected, func(a, b types.NamespacedName) int {
		if a.Namespace != b.Namespace {
			if a.Namespace < b.Namespace {
				return -1
			}
			return 1
		}
		if a.Name < b.Name {
			return -1
		} else if a.Name > b.Name {
			return 1
		}
		return 0
	})
	e.pending = len(e.affected)
	e.isAffected = make(map[types.NamespacedName]bool, len(e.affected))
	for _, k := range e.affected {
		e.isAffected[k] = true
	}
	if e.pending == 0 {
		close(e.done)
	}
	t.exp = e
	return e
}

// Start sets the time latencies are measured from.
func (t *Tracker) Start(e *Expectation, t0 time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e.t0 = t0
}

// Release ends the active expectation.
func (t *Tracker) Release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.exp = nil
}

func (e *Expectation) observe(k types.NamespacedName, s Summary, deleted bool, now time.Time) {
	if _, done := e.matched[k]; done || e.pending == 0 {
		return
	}
	var ok bool
	if e.gone[k] {
		ok = deleted
	} else if want, listed := e.want[k]; listed {
		ok = !deleted && s == want
	}
	if !ok {
		return
	}
	e.matched[k] = now
	if !e.isAffected[k] {
		return
	}
	e.pending--
	if e.pending == 0 {
		close(e.done)
	}
}

// Changed returns the affected VAs that stay (not deleted).
func (e *Expectation) Changed() []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(e.affected))
	for _, k := range e.affected {
		if !e.gone[k] {
			out = append(out, k)
		}
	}
	return out
}

// Affected is the number of VAs whose status had to change (or that had to go).
func (e *Expectation) Affected() int { return len(e.affected) }

// Done is closed when every affected VA reached what is expected.
func (e *Expectation) Done() <-chan struct{} { return e.done }

// Progress returns how many affected VAs have converged (under the tracker's lock).
func (t *Tracker) Progress(e *Expectation) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(e.affected) - e.pending
}

// Latencies returns, for the affected VAs that converged, the time from t0
// to the watch event that showed them as expected, and the time the last
// one converged.
func (t *Tracker) Latencies(e *Expectation) (lat []time.Duration, last time.Duration, missing []types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range e.affected {
		at, ok := e.matched[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		d := max(at.Sub(e.t0), 0)
		lat = append(lat, d)
		last = max(last, d)
	}
	return lat, last, missing
}

// Mismatches returns the VAs that are not as expected now (at most limit).
func (t *Tracker) Mismatches(e *Expectation, limit int) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for k, want := range e.want {
		cur, ok := t.current[k]
		if !ok || cur != want {
			out = append(out, fmt.Sprintf("%s: have %+v, want %+v", k, cur, want))
			if len(out) >= limit {
				break
			}
		}
	}
	return out
}
