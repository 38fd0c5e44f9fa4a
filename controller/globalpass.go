package controller

import (
	"cmp"
	"context"
	"slices"
	"time"

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
	Cache    client.Reader
	Config   modelgroup.ConfigSource
	Metrics  *Metrics
	Triggers *modelgroup.Triggers
	// Enqueue receives the drifted groups (a channel source of the controller).
	Enqueue chan<- event.TypedGenericEvent[modelgroup.Key]
	// Kick, when signalled, runs a pass now (e.g. the interval changed).
	Kick <-chan struct{}

	records *records
}

// NeedLeaderElection makes the pass run on the leader only.
func (*GlobalPass) NeedLeaderElection() bool { return true }

// Start runs passes until ctx ends.
func (p *GlobalPass) Start(ctx context.Context) error {
	timer := time.NewTimer(p.Config.Config().Operator.PassInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Kick:
		case <-timer.C:
		}
		if _, err := p.Run(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Global pass")
		}
		timer.Reset(p.Config.Config().Operator.PassInterval)
	}
}

// Run makes one pass and returns the drifted groups it enqueued.
func (p *GlobalPass) Run(ctx context.Context) ([]modelgroup.Key, error) {
	var list llmdv1alpha1.VariantAutoscalingList
	if err := p.Cache.List(ctx, &list); err != nil {
		return nil, err
	}
	groups := map[modelgroup.Key][]*llmdv1alpha1.VariantAutoscaling{}
	for i := range list.Items {
		va := &list.Items[i]
		if va.DeletionTimestamp == nil {
			groups[modelgroup.KeyOf(va)] = append(groups[modelgroup.KeyOf(va)], va)
		}
	}
	p.Metrics.Groups.Set(float64(len(groups)))
	recorded := p.records.snapshot()
	cfg := p.Config.Config()
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
		p.Triggers.Record(key, modelgroup.TriggerGlobalPass)
		select {
		case p.Enqueue <- event.TypedGenericEvent[modelgroup.Key]{Object: key}:
		case <-ctx.Done():
			return drifted, ctx.Err()
		}
	}
	p.Metrics.GlobalPassDrifted.Add(float64(len(drifted)))
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

// kickQueue is a non-blocking single-slot signal.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
