package controller

import (
	"sync"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// variantRecord is what the last reconcile of a group decided for one VA.
type variantRecord struct {
	Generation int64
	Desired    *int32
	Reason     string
	// Series names the VA's published series (zero: none).
	Series VariantSeries
	// Value is the published wva_desired_replicas (valid when Series is set).
	Value int32
}

// groupRecord is what the operator remembers of a group between reconciles:
// the policy state the allocator asked to keep, and the choices it recorded,
// which the global pass compares against a fresh computation.
type groupRecord struct {
	State       allocator.State
	ScaleToZero config.ScaleToZeroPolicy
	// KeptCheapest is the variant kept at one replica by KeepCheapest ("" when none).
	KeptCheapest string
	Variants     map[string]variantRecord
}

// records holds one groupRecord per group. A group's record is only written
// by that group's reconcile (the workqueue never runs one key twice at once);
// the lock is for the global pass reading them all.
type records struct {
	mu     sync.RWMutex
	groups map[modelgroup.Key]*groupRecord
}

func newRecords() *records { return &records{groups: map[modelgroup.Key]*groupRecord{}} }

func (r *records) get(k modelgroup.Key) *groupRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if g, ok := r.groups[k]; ok {
		return g
	}
	return &groupRecord{}
}

func (r *records) put(k modelgroup.Key, g *groupRecord) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups[k] = g
}

func (r *records) remove(k modelgroup.Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.groups, k)
}

// snapshot returns the records as they are now, for the global pass.
func (r *records) snapshot() map[modelgroup.Key]*groupRecord {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make(map[modelgroup.Key]*groupRecord, len(r.groups))
	for k, g := range r.groups {
		out[k] = g
	}
	return out
}
