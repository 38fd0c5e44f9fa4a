package loadsource

import (
	"context"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Memory is a programmable modelgroup.LoadSource for tests and the load harness.
// A group nobody set has no metrics (never zero load).
type Memory struct {
	mu       sync.RWMutex
	readings map[modelgroup.Key]modelgroup.LoadReading
	changes  chan event.TypedGenericEvent[modelgroup.Key]
	now      func() time.Time
}

// NewMemory returns an empty source whose change channel holds buffer events.
func NewMemory(buffer int) *Memory {
	return &Memory{
		readings: map[modelgroup.Key]modelgroup.LoadReading{},
		changes:  make(chan event.TypedGenericEvent[modelgroup.Key], buffer),
		now:      time.Now,
	}
}

// Set records the group's load and reports the group as changed.
func (m *Memory) Set(key modelgroup.Key, load modelgroup.Load) {
	if load.ObservedAt.IsZero() {
		load.ObservedAt = m.now()
	}
	m.set(key, modelgroup.LoadReading{Load: load, Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound})
}

// SetQuietly records the group's load without reporting a change, e.g. to
// prepare many groups before the controller starts.
func (m *Memory) SetQuietly(key modelgroup.Key, load modelgroup.Load) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readings[key] = modelgroup.LoadReading{Load: load, Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound}
}

// SetUnavailable makes the group's load unknown with a MetricsAvailable reason.
func (m *Memory) SetUnavailable(key modelgroup.Key, reason, message string) {
	m.set(key, modelgroup.LoadReading{Reason: reason, Message: message})
}

func (m *Memory) set(key modelgroup.Key, r modelgroup.LoadReading) {
	m.mu.Lock()
	m.readings[key] = r
	m.mu.Unlock()
	m.changes <- event.TypedGenericEvent[modelgroup.Key]{Object: key}
}

// Load implements modelgroup.LoadSource.
func (m *Memory) Load(_ context.Context, key modelgroup.Key, _ time.Duration) modelgroup.LoadReading {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if r, ok := m.readings[key]; ok {
		return r
	}
	return modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing, Message: "no load recorded for " + key.String()}
}

// Changes implements modelgroup.LoadNotifier.
func (m *Memory) Changes() <-chan event.TypedGenericEvent[modelgroup.Key] { return m.changes }
