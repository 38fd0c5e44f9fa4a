package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	crcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch

// arbiterDebounce is the shortest time between two arbitrations: a burst of
// Node or Pod events (a node pool scaling) makes one run, not hundreds.
const arbiterDebounce = time.Second

// CapacityArbiter is the part of the global pass that hands out scarce
// accelerators when CAPACITY_MODE is limited (docs/capacity.md). Each group's
// reconcile records its claim (its plan without limits) and plans within the
// budget the arbiter gave it; the arbiter arbitrates at GLOBAL_PASS_INTERVAL,
// when the inventory changes (Node or accelerator Pod events) and when a
// group's claim changes, and enqueues only the groups whose budget changed.
type CapacityArbiter struct {
	cache     client.Reader
	informers crcache.Informers
	config    modelgroup.ConfigSource
	triggers  *modelgroup.Triggers
	enqueue   chan event.TypedGenericEvent[modelgroup.Key]
	metrics   *capacityMetrics
	clock     func() time.Time
	kick      chan struct{}

	mu       sync.Mutex
	claims   map[modelgroup.Key]allocator.Claim
	budgets  map[modelgroup.Key]allocator.Limits
	pending  map[modelgroup.Key]map[string]int
	watching bool
	lastRun  time.Time
}

// NewCapacityArbiter builds the arbiter. informers may be nil in tests that
// call Run directly (no watches are then set up).
func NewCapacityArbiter(cache client.Reader, informers crcache.Informers, cfg modelgroup.ConfigSource,
	triggers *modelgroup.Triggers, clock func() time.Time,
) *CapacityArbiter {
	return &CapacityArbiter{
		cache: cache, informers: informers, config: cfg, triggers: triggers,
		enqueue: make(chan event.TypedGenericEvent[modelgroup.Key], 1024),
		metrics: defaultCapacityMetrics(), clock: clock, kick: make(chan struct{}, 1),
		claims: map[modelgroup.Key]allocator.Claim{}, budgets: map[modelgroup.Key]allocator.Limits{},
		pending: map[modelgroup.Key]map[string]int{},
	}
}

// Events is the channel of the groups to re-plan (a controller source).
func (a *CapacityArbiter) Events() <-chan event.TypedGenericEvent[modelgroup.Key] { return a.enqueue }

// NeedLeaderElection makes the arbiter run on the leader only.
func (*CapacityArbiter) NeedLeaderElection() bool { return true }

// Budget returns the group's limits (nil: unlimited) and its pods Pending
// for lack of accelerators, per type.
func (a *CapacityArbiter) Budget(key modelgroup.Key) (allocator.Limits, map[string]int) {
	if a == nil {
		return nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.budgets[key], a.pending[key]
}

// RecordClaim stores a group's claim, read off its plan without limits. A
// claim whose accelerators per type changed makes the arbiter run (in
// limited mode): that is the demand change that can move budgets.
func (a *CapacityArbiter) RecordClaim(key modelgroup.Key, c allocator.Claim) {
	if a == nil {
		return
	}
	a.mu.Lock()
	prev, had := a.claims[key]
	a.claims[key] = c
	a.mu.Unlock()
	if !had || !sameUnits(prev, c) || prev.Priority != c.Priority {
		a.Kick()
	}
}

// Forget drops a vanished group: its accelerators go back to the others.
func (a *CapacityArbiter) Forget(key modelgroup.Key) {
	if a == nil {
		return
	}
	a.mu.Lock()
	_, had := a.claims[key]
	delete(a.claims, key)
	delete(a.budgets, key)
	delete(a.pending, key)
	a.mu.Unlock()
	if had {
		a.Kick()
	}
}

// Kick asks for an arbitration soon (non-blocking, coalesced).
func (a *CapacityArbiter) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func sameUnits(a, b allocator.Claim) bool {
	units := func(c allocator.Claim) map[string]int {
		out := maps.Clone(c.Min)
		if out == nil {
			out = map[string]int{}
		}
		for t, steps := range c.Steps {
			for _, s := range steps {
				out[t] += s.Units * s.Count
			}
		}
		return out
	}
	return maps.Equal(units(a), units(b))
}

// Start arbitrates until ctx ends: at every GLOBAL_PASS_INTERVAL and when
// kicked, at most once per arbiterDebounce.
func (a *CapacityArbiter) Start(ctx context.Context) error {
	timer := time.NewTimer(a.config.Config().Operator.PassInterval)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.kick:
		case <-timer.C:
		}
		if wait := arbiterDebounce - a.clock().Sub(a.lastRun); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
		if _, err := a.Run(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Capacity arbitration")
		}
		a.lastRun = a.clock()
		timer.Reset(a.config.Config().Operator.PassInterval)
	}
}

// Run arbitrates once and returns the groups it enqueued.
func (a *CapacityArbiter) Run(ctx context.Context) ([]modelgroup.Key, error) {
	cfg := a.config.Config()
	if !cfg.Operator.Capacity.Limited() {
		return a.release(ctx)
	}
	if err := a.watch(ctx, cfg.Operator.Capacity); err != nil {
		return nil, err
	}
	var vas llmdv1alpha1.VariantAutoscalingList
	if err := a.cache.List(ctx, &vas); err != nil {
		return nil, fmt.Errorf("listing VariantAutoscalings: %w", err)
	}
	groupOf := map[workload]modelgroup.Key{}
	typeOf := map[workload]string{}
	live := map[modelgroup.Key]bool{}
	for i := range vas.Items {
		va := &vas.Items[i]
		if va.DeletionTimestamp != nil {
			continue
		}
		w := workload{Kind: va.Spec.ScaleTargetRef.Kind, Namespace: va.Namespace, Name: va.Spec.ScaleTargetRef.Name}
		groupOf[w], typeOf[w] = modelgroup.KeyOf(va), va.Spec.Accelerator
		live[modelgroup.KeyOf(va)] = true
	}
	inv, err := a.inventory(ctx, cfg, groupOf)
	if err != nil {
		return nil, err
	}
	pending := map[modelgroup.Key]map[string]int{}
	for w, n := range inv.Pending {
		k := groupOf[w]
		if pending[k] == nil {
			pending[k] = map[string]int{}
		}
		pending[k][typeOf[w]] += n
	}

	a.mu.Lock()
	claims := make([]allocator.Claim, 0, len(a.claims))
	keyOf := make(map[string]modelgroup.Key, len(a.claims))
	prev := make(allocator.Budgets, len(a.budgets))
	for k, c := range a.claims {
		if !live[k] {
			continue
		}
		claims = append(claims, c)
		keyOf[c.Group] = k
		if b, ok := a.budgets[k]; ok {
			prev[c.Group] = b
		}
	}
	a.mu.Unlock()
	slices.SortFunc(claims, func(x, y allocator.Claim) int { return strings.Compare(x.Group, y.Group) })

	start := time.Now()
	arb, err := allocator.Arbitrate(claims, inv.Available, prev)
	if err != nil {
		return nil, fmt.Errorf("arbitrating accelerators: %w", err)
	}
	a.metrics.observe(time.Since(start), inv, arb, pending)

	budgets := make(map[modelgroup.Key]allocator.Limits, len(arb.Budgets))
	for g, b := range arb.Budgets {
		budgets[keyOf[g]] = b
	}
	enqueue := make(map[modelgroup.Key]bool, len(arb.Changed))
	for _, g := range arb.Changed {
		enqueue[keyOf[g]] = true
	}
	a.mu.Lock()
	// A group whose Pending pods changed is re-planned too: its status
	// reports them. Its budget is not why.
	for k := range live {
		if !maps.Equal(a.pending[k], pending[k]) {
			enqueue[k] = true
		}
	}
	a.budgets, a.pending = budgets, pending
	a.mu.Unlock()
	changed := slices.SortedFunc(maps.Keys(enqueue), func(x, y modelgroup.Key) int { return strings.Compare(x.String(), y.String()) })
	if len(changed) > 0 {
		log.FromContext(ctx).Info("Capacity arbitration changed budgets", "groups", len(claims),
			"budgetsChanged", len(arb.Changed), "enqueued", len(changed), "contended", arb.Contended, "inventory", inv.Available)
	}
	return changed, a.send(ctx, changed)
}

// release drops every budget when the mode is unlimited, re-planning the
// groups that had one.
func (a *CapacityArbiter) release(ctx context.Context) ([]modelgroup.Key, error) {
	a.mu.Lock()
	var changed []modelgroup.Key
	for k := range a.budgets {
		changed = append(changed, k)
	}
	a.budgets, a.pending = map[modelgroup.Key]allocator.Limits{}, map[modelgroup.Key]map[string]int{}
	a.mu.Unlock()
	slices.SortFunc(changed, func(x, y modelgroup.Key) int { return strings.Compare(x.String(), y.String()) })
	return changed, a.send(ctx, changed)
}

func (a *CapacityArbiter) send(ctx context.Context, keys []modelgroup.Key) error {
	for _, k := range keys {
		a.triggers.Record(k, modelgroup.TriggerGlobalPass)
		select {
		case a.enqueue <- event.TypedGenericEvent[modelgroup.Key]{Object: k}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// inventory reads the accelerators: the quota when one is set, else the
// Nodes; the Pods give what other workloads hold and the Pending VA pods.
func (a *CapacityArbiter) inventory(ctx context.Context, cfg *config.Config, groupOf map[workload]modelgroup.Key) (inventory, error) {
	capCfg := cfg.Operator.Capacity
	var nodes corev1.NodeList
	if capCfg.Quota == "" {
		if err := a.cache.List(ctx, &nodes); err != nil {
			return inventory{}, fmt.Errorf("listing Nodes: %w", err)
		}
	}
	var pods corev1.PodList
	if err := a.cache.List(ctx, &pods); err != nil {
		return inventory{}, fmt.Errorf("listing Pods: %w", err)
	}
	managed := make(map[workload]bool, len(groupOf))
	for w := range groupOf {
		managed[w] = true
	}
	inv := computeInventory(inventoryInput{
		Nodes: nodes.Items, Pods: pods.Items, Managed: managed,
		Label: capCfg.AcceleratorLabel, Resource: capCfg.Resource, TypeOf: acceleratorTypeOf(cfg),
	})
	if q := capCfg.QuotaInventory(); q != nil {
		inv.Available = q
	}
	return inv, nil
}

// watch sets up, once, the Node and Pod event handlers that kick the
// arbiter when the inventory may have changed. Informers are only started
// in limited mode, so an unlimited operator watches neither.
func (a *CapacityArbiter) watch(ctx context.Context, c config.CapacityConfig) error {
	if a.informers == nil {
		return nil
	}
	a.mu.Lock()
	done := a.watching
	a.watching = true
	a.mu.Unlock()
	if done {
		return nil
	}
	ni, err := a.informers.GetInformer(ctx, &corev1.Node{})
	if err != nil {
		return fmt.Errorf("watching Nodes: %w", err)
	}
	if _, err := ni.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.Kick() },
		DeleteFunc: func(any) { a.Kick() },
		UpdateFunc: func(o, n any) {
			on, ok1 := o.(*corev1.Node)
			nn, ok2 := n.(*corev1.Node)
			if !ok1 || !ok2 || nodeMatters(on, nn, a.config.Config().Operator.Capacity) {
				a.Kick()
			}
		},
	}); err != nil {
		return fmt.Errorf("watching Nodes: %w", err)
	}
	pi, err := a.informers.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return fmt.Errorf("watching Pods: %w", err)
	}
	res := corev1.ResourceName(c.Resource)
	if _, err := pi.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { a.kickForPod(o, nil, res) },
		DeleteFunc: func(o any) { a.kickForPod(o, nil, res) },
		UpdateFunc: func(o, n any) { a.kickForPod(n, o, res) },
	}); err != nil {
		return fmt.Errorf("watching Pods: %w", err)
	}
	return nil
}

// nodeMatters ignores the status heartbeats: only what the inventory reads.
func nodeMatters(o, n *corev1.Node, c config.CapacityConfig) bool {
	res := corev1.ResourceName(c.Resource)
	oq, nq := o.Status.Allocatable[res], n.Status.Allocatable[res]
	return schedulable(o) != schedulable(n) || oq.Cmp(nq) != 0 || o.Labels[c.AcceleratorLabel] != n.Labels[c.AcceleratorLabel]
}

func (a *CapacityArbiter) kickForPod(obj, old any, res corev1.ResourceName) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		a.Kick() // a tombstone: be safe
		return
	}
	if podRequest(p, res) == 0 {
		return
	}
	if o, ok := old.(*corev1.Pod); ok && o.Status.Phase == p.Status.Phase && o.Spec.NodeName == p.Spec.NodeName &&
		unschedulableFor(o, string(res)) == unschedulableFor(p, string(res)) {
		return
	}
	a.Kick()
}
