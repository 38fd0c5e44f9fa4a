package modelgroup

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// MemorySource is a programmable LoadSource for tests and the load harness.
// A group nobody set has no metrics (never zero load).
type MemorySource struct {
	mu       sync.RWMutex
	readings map[Key]LoadReading
	changes  chan event.TypedGenericEvent[Key]
	now      func() time.Time
}

// NewMemorySource returns an empty source whose change channel holds buffer events.
func NewMemorySource(buffer int) *MemorySource {
	return &MemorySource{
		readings: map[Key]LoadReading{},
		changes:  make(chan event.TypedGenericEvent[Key], buffer),
		now:      time.Now,
	}
}

// Set records the group's load and reports the group as changed.
func (m *MemorySource) Set(key Key, load Load) {
	if load.ObservedAt.IsZero() {
		load.ObservedAt = m.now()
	}
	m.set(key, LoadReading{Load: load, Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound})
}

// SetQuietly records the group's load without reporting a change, e.g. to
// prepare many groups before the controller starts.
func (m *MemorySource) SetQuietly(key Key, load Load) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readings[key] = LoadReading{Load: load, Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound}
}

// SetUnavailable makes the group's load unknown with a MetricsAvailable reason.
func (m *MemorySource) SetUnavailable(key Key, reason, message string) {
	m.set(key, LoadReading{Reason: reason, Message: message})
}

func (m *MemorySource) set(key Key, r LoadReading) {
	m.mu.Lock()
	m.readings[key] = r
	m.mu.Unlock()
	m.changes <- event.TypedGenericEvent[Key]{Object: key}
}

// Load implements LoadSource.
func (m *MemorySource) Load(_ context.Context, key Key, _ time.Duration) LoadReading {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if r, ok := m.readings[key]; ok {
		return r
	}
	return LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing, Message: "no load recorded for " + key.String()}
}

// Changes implements LoadNotifier.
func (m *MemorySource) Changes() <-chan event.TypedGenericEvent[Key] { return m.changes }
