package harness

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// actuationClock records, per group, the first reconcile that starts after
// the phase's event. The product actuates a group in that reconcile right
// after planning it (in metrics mode: the wva_desired_replicas series, no
// API call) and before it writes any status, so that time plus the plan
// (milliseconds) is the event-to-actuation latency of the group's variants.
type actuationClock struct {
	mu    sync.Mutex
	t0    time.Time
	first map[modelgroup.Key]time.Time
}

func newActuationClock() *actuationClock {
	return &actuationClock{first: map[modelgroup.Key]time.Time{}}
}

// observe is the operator's ObserveReconcile hook.
func (a *actuationClock) observe(k modelgroup.Key, _ modelgroup.Trigger) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.t0.IsZero() || now.Before(a.t0) {
		return
	}
	if _, seen := a.first[k]; !seen {
		a.first[k] = now
	}
}

// start forgets earlier reconciles and measures from t0.
func (a *actuationClock) start(t0 time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.t0 = t0
	clear(a.first)
}

// latencies returns, for each VA, the time from t0 to the first reconcile
// of its group; VAs whose group was not reconciled are left out.
func (a *actuationClock) latencies(vas []types.NamespacedName, groupOf map[types.NamespacedName]modelgroup.Key) []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]time.Duration, 0, len(vas))
	for _, k := range vas {
		if at, ok := a.first[groupOf[k]]; ok {
			out = append(out, at.Sub(a.t0))
		}
	}
	return out
}
