package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// GlobalPass runs every GLOBAL_PASS_INTERVAL on the leader. It lists all VAs
// once from the cache (no API calls), recomputes each group's cross-group
// choices from the config in force, and enqueues only the groups whose
// recorded choice drifted. It also drops the series of vanished groups.
type GlobalPass struct {
	cache    client.Reader
	config   modelgroup.ConfigSource
	metrics  *Metrics
	triggers *modelgroup.Triggers
	records  *records
	statuses *StatusQueue
	clock    clock.Clock
	// events carries the drifted groups to the controller (a channel source).
	events chan event.TypedGenericEvent[modelgroup.Key]
	// kick, when signalled, runs a pass now (the interval changed).
	kick chan struct{}
}

// NewGlobalPass returns the pass over the groups rec reconciles: it compares
// rec's records with the VAs in cache. It subscribes to store so that a new
// GLOBAL_PASS_INTERVAL applies at once; clk defaults to the real clock.
func NewGlobalPass(rec *GroupReconciler, cache client.Reader, store *config.Store, clk clock.Clock) *GlobalPass {
	if clk == nil {
		clk = clock.RealClock{}
	}
	p := &GlobalPass{
		cache: cache, config: store, metrics: rec.metrics, triggers: rec.triggers, records: rec.records, statuses: rec.statuses,
		clock: clk, events: make(chan event.TypedGenericEvent[modelgroup.Key], passEventBuffer),
		kick: make(chan struct{}, 1),
	}
	store.Subscribe(func(c config.Change) {
		if c.Timers {
			signal(p.kick)
		}
	})
	return p
}

// passEventBuffer is the capacity of the channel of drifted groups.
const passEventBuffer = 1024

// Events is the channel of drifted groups, for the controller to watch.
func (p *GlobalPass) Events() <-chan event.TypedGenericEvent[modelgroup.Key] { return p.events }

// NeedLeaderElection makes the pass run on the leader only.
func (*GlobalPass) NeedLeaderElection() bool { return true }

// Start runs passes until ctx ends.
func (p *GlobalPass) Start(ctx context.Context) error {
	timer := p.clock.NewTimer(p.config.Config().Operator.PassInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-timer.C():
		}
		if _, err := p.Run(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Global pass")
		}
		timer.Stop()
		timer.Reset(p.config.Config().Operator.PassInterval)
	}
}

// Run makes one pass and returns the drifted groups it enqueued.
func (p *GlobalPass) Run(ctx context.Context) ([]modelgroup.Key, error) {
	var list llmdv1alpha1.VariantAutoscalingList
	if err := p.cache.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing the VariantAutoscalings: %w", err)
	}
	groups := map[modelgroup.Key][]*llmdv1alpha1.VariantAutoscaling{}
	for i := range list.Items {
		va := &list.Items[i]
		if va.DeletionTimestamp == nil {
			p.statuses.Overlay(va) // decided, not yet written: not a drift
			groups[modelgroup.KeyOf(va)] = append(groups[modelgroup.KeyOf(va)], va)
		}
	}
	p.metrics.Groups.Set(float64(len(groups)))
	recorded := p.records.snapshot()
	cfg := p.config.Config()
	var drifted []modelgroup.Key
	for key, members := range groups {
		if driftedGroup(cfg, key, members, recorded[key]) {
			drifted = append(drifted, key)
		}
	}
	// Groups that vanished without their delete being seen: forget them.
	for key := range recorded {
		if _, ok := groups[key]; !ok {
			drifted = append(drifted, key)
		}
	}
	slices.SortFunc(drifted, func(a, b modelgroup.Key) int { return cmp.Compare(a.String(), b.String()) })
	for _, key := range drifted {
		p.triggers.Record(key, modelgroup.TriggerGlobalPass)
		select {
		case p.events <- event.TypedGenericEvent[modelgroup.Key]{Object: key}:
		case <-ctx.Done():
			return drifted, ctx.Err()
		}
	}
	p.metrics.GlobalPassDrifted.Add(float64(len(drifted)))
	if len(drifted) > 0 {
		log.FromContext(ctx).Info("Global pass enqueued drifted groups", "groups", len(groups), "drifted", len(drifted))
	}
	return drifted, nil
}

// driftedGroup reports whether a group's recorded choices differ from what
// the cluster shows now or from a fresh computation with the config in force.
func driftedGroup(cfg *config.Config, key modelgroup.Key, members []*llmdv1alpha1.VariantAutoscaling, rec *groupRecord) bool {
	if rec == nil || len(rec.Variants) != len(members) {
		return true
	}
	if rec.ScaleToZero != cfg.ScaleToZeroFor(key.Namespace, key.ModelID) {
		return true
	}
	for _, va := range members {
		vr, ok := rec.Variants[va.Name]
		if !ok || vr.Generation != va.Generation || !equalReplicas(vr.Desired, va.Status.DesiredReplicas) {
			return true
		}
		if va.Status.Decision != nil && string(va.Status.Decision.Reason) != vr.Reason {
			return true
		}
	}
	return rec.KeptCheapest != "" && rec.KeptCheapest != cheapestVariant(cfg, members)
}

// cheapestVariant is the variant KeepCheapest would choose: the lowest cost
// per replica, ties by name, among those allowed a replica.
func cheapestVariant(cfg *config.Config, members []*llmdv1alpha1.VariantAutoscaling) string {
	best, bestCost := "", 0.0
	for _, va := range members {
		if va.Spec.MaxReplicas != nil && *va.Spec.MaxReplicas == 0 {
			continue
		}
		c, err := cfg.VariantCost(&va.Spec)
		if err != nil {
			continue
		}
		if best == "" || c < bestCost || (c == bestCost && va.Name < best) {
			best, bestCost = va.Name, c
		}
	}
	return best
}

func equalReplicas(a, b *int32) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// signal sends on a single-slot channel without blocking: a pending signal
// already covers this one.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
