package modelgroup

import "sync"

// Trigger names what caused a group reconcile; it labels wva_group_reconciles_total.
type Trigger string

// Triggers, one per row of the event table.
const (
	TriggerVA         Trigger = "va"
	TriggerTarget     Trigger = "target"
	TriggerConfig     Trigger = "config"
	TriggerLoad       Trigger = "load"
	TriggerGlobalPass Trigger = "global-pass"
	// TriggerRequeue is a group's own timer (RequeueAfter): a time rule matured
	// or GLOBAL_OPT_INTERVAL passed.
	TriggerRequeue Trigger = "requeue"
)

// Triggers remembers why each queued group was enqueued. The workqueue
// deduplicates keys, so the reason travels beside the key: the first trigger
// since the last reconcile of a group is the one reported.
type Triggers struct {
	mu      sync.Mutex
	pending map[Key]Trigger
}

// NewTriggers returns an empty set.
func NewTriggers() *Triggers { return &Triggers{pending: map[Key]Trigger{}} }

// Record notes that key was enqueued because of t, unless it is already pending.
func (t *Triggers) Record(key Key, trigger Trigger) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[key]; !ok {
		t.pending[key] = trigger
	}
}

// Take returns and forgets why key was enqueued; a key nobody recorded came
// from its own RequeueAfter.
func (t *Triggers) Take(key Key) Trigger {
	t.mu.Lock()
	defer t.mu.Unlock()
	trigger, ok := t.pending[key]
	if !ok {
		return TriggerRequeue
	}
	delete(t.pending, key)
	return trigger
}
