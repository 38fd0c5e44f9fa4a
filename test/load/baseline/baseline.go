// Package baseline holds the two strategies the load harness compares the
// product with. Both plan with the product's own pieces (the group
// snapshot, controller.PlanGroupStatuses, the config store) and write a
// status only when it changed, exactly as the product does; what differs is
// how the work is cut, as in the predecessor design:
//
//   - global-single: one reconcile plans every group; every event enqueues
//     the one request (the workqueue folds bursts), and the reconcile
//     requeues itself after GLOBAL_OPT_INTERVAL.
//   - global-per-va: the request is a VA; a ConfigMap change enqueues one
//     request per VA, and every reconcile plans every group (N² VA
//     evaluations per change); every VA requeues itself after
//     GLOBAL_OPT_INTERVAL.
//
// Neither is product code: they live here only to be measured against.
package baseline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// Mode is a baseline strategy.
type Mode string

// The baseline strategies.
const (
	GlobalSingle Mode = "global-single"
	GlobalPerVA  Mode = "global-per-va"
)

// Options configure a baseline operator.
type Options struct {
	Mode            Mode
	ConfigNamespace string
	// Namespaces the operator watches (all when empty).
	Namespaces []string
	// Load is the load source; when it is also a modelgroup.LoadNotifier
	// its changes are watched.
	Load modelgroup.LoadSource
	// MaxConcurrentReconciles defaults to 4, as the product's.
	MaxConcurrentReconciles int
	Scheme                  *k8sruntime.Scheme
}

// Operator is a running baseline.
type Operator struct {
	Mode    Mode
	Store   *config.Store
	Manager manager.Manager
	// Reconciles, Evaluations (VAs planned) and StatusWrites count work
	// with the same meaning as the product's wva_* counters.
	Reconciles   atomic.Int64
	Evaluations  atomic.Int64
	StatusWrites atomic.Int64

	cancel context.CancelFunc
	done   chan error
}

// ControllerName is the controller (and workqueue) name of a mode.
func ControllerName(m Mode) string { return "baseline-" + string(m) }

// singleton is the one request of global-single.
var singleton = reconcile.Request{NamespacedName: types.NamespacedName{Name: "all-groups"}}

type queue = workqueue.TypedRateLimitingInterface[reconcile.Request]

// Start builds a manager like the product's (same cache restrictions,
// indexes, client) with the baseline controller, and starts it.
func Start(cfg *rest.Config, opts Options) (*Operator, error) {
	if opts.Mode != GlobalSingle && opts.Mode != GlobalPerVA {
		return nil, fmt.Errorf("unknown baseline %q", opts.Mode)
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 4
	}
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                 opts.Scheme,
		Cache:                  controller.CacheOptions(opts.ConfigNamespace, opts.Namespaces),
		MapperProvider:         controller.NewRESTMapper,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
	})
	if err != nil {
		return nil, fmt.Errorf("creating a manager: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := indexer.Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		cancel()
		return nil, err
	}
	op := &Operator{Mode: opts.Mode, Store: config.NewStore(nil), Manager: mgr, cancel: cancel, done: make(chan error, 1)}
	// The ConfigMaps that exist now are in force before the first plan.
	for _, name := range config.Names() {
		var cm corev1.ConfigMap
		if err := mgr.GetAPIReader().Get(ctx, client.ObjectKey{Namespace: opts.ConfigNamespace, Name: name}, &cm); err == nil {
			_, _ = op.Store.Update(name, cm.Data)
		}
	}
	rec := &reconciler{
		op:     op,
		client: mgr.GetClient(),
		cache:  mgr.GetCache(),
		snaps: &modelgroup.Snapshotter{
			Cache: mgr.GetCache(), Scales: mgr.GetClient(), Config: op.Store, Load: opts.Load,
		},
		capacity: allocator.NewCapacityCache(allocator.DefaultCacheSize),
		states:   map[modelgroup.Key]allocator.State{},
	}
	h := handlers{mode: opts.Mode, cache: mgr.GetCache(), op: op, configNamespace: opts.ConfigNamespace}
	b := builder.TypedControllerManagedBy[reconcile.Request](mgr).
		Named(ControllerName(opts.Mode)).
		WithOptions(crcontroller.TypedOptions[reconcile.Request]{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			SkipNameValidation:      ptr.To(true),
		}).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &llmdv1alpha1.VariantAutoscaling{}, h.vaHandler())).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &appsv1.Deployment{}, h.deploymentHandler())).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.ConfigMap{}, h.configMapHandler()))
	if n, ok := opts.Load.(modelgroup.LoadNotifier); ok {
		b = b.WatchesRawSource(source.TypedChannel(n.Changes(), h.loadHandler()))
	}
	if err := b.Complete(rec); err != nil {
		cancel()
		return nil, fmt.Errorf("building the %s controller: %w", opts.Mode, err)
	}
	go func() { op.done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, errors.New("the manager's cache did not sync")
	}
	return op, nil
}

// Stop stops the manager and waits for it.
func (o *Operator) Stop() error {
	o.cancel()
	return <-o.done
}

// reconciler plans every group in every reconcile.
type reconciler struct {
	op       *Operator
	client   client.Client
	cache    client.Reader
	snaps    *modelgroup.Snapshotter
	capacity *allocator.CapacityCache

	mu     sync.Mutex
	states map[modelgroup.Key]allocator.State
}

// Reconcile lists every VA once, then snapshots, plans and writes each
// group as the product's group reconcile does. The request is not used
// beyond starting the pass, as in the predecessor.
func (r *reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	r.op.Reconciles.Add(1)
	var list llmdv1alpha1.VariantAutoscalingList
	if err := r.cache.List(ctx, &list); err != nil {
		return reconcile.Result{}, err
	}
	seen := map[modelgroup.Key]bool{}
	var keys []modelgroup.Key
	for i := range list.Items {
		k := modelgroup.KeyOf(&list.Items[i])
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b modelgroup.Key) int { return cmp.Compare(a.String(), b.String()) })
	now := time.Now()
	var errs []error
	for _, key := range keys {
		snap, err := r.snaps.Snapshot(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(snap.Members) == 0 {
			r.mu.Lock()
			delete(r.states, key)
			r.mu.Unlock()
			continue
		}
		r.op.Evaluations.Add(int64(len(snap.Members)))
		r.mu.Lock()
		state := r.states[key]
		r.mu.Unlock()
		statuses, next := controller.PlanGroupStatuses(snap, state, now, r.capacity)
		r.mu.Lock()
		r.states[key] = next
		r.mu.Unlock()
		errs = append(errs, r.writeStatuses(ctx, snap, statuses))
	}
	return reconcile.Result{RequeueAfter: r.op.Store.Config().Operator.OptInterval}, errors.Join(errs...)
}

// writeStatuses writes each status that changed, as the product does.
func (r *reconciler) writeStatuses(ctx context.Context, snap *modelgroup.Snapshot, statuses []llmdv1alpha1.VariantAutoscalingStatus) error {
	var errs []error
	for i := range snap.Members {
		va := snap.Members[i].VA
		if equality.Semantic.DeepEqual(va.Status, statuses[i]) {
			continue
		}
		updated := va.DeepCopy()
		updated.Status = statuses[i]
		r.op.StatusWrites.Add(1)
		if err := r.client.Status().Patch(ctx, updated, client.MergeFrom(va)); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("writing the status of %s/%s: %w", va.Namespace, va.Name, err))
		}
	}
	return errors.Join(errs...)
}

// handlers map events to requests: the singleton, or VAs.
type handlers struct {
	mode            Mode
	cache           client.Reader
	op              *Operator
	configNamespace string
}

func vaRequest(va *llmdv1alpha1.VariantAutoscaling) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: va.Namespace, Name: va.Name}}
}

// addList enqueues the singleton, or one request per listed VA.
func (h handlers) addList(ctx context.Context, q queue, opts ...client.ListOption) {
	if h.mode == GlobalSingle {
		q.Add(singleton)
		return
	}
	var list llmdv1alpha1.VariantAutoscalingList
	if err := h.cache.List(ctx, &list, opts...); err != nil {
		return
	}
	for i := range list.Items {
		q.Add(vaRequest(&list.Items[i]))
	}
}

func (h handlers) addVA(q queue, va *llmdv1alpha1.VariantAutoscaling) {
	if h.mode == GlobalSingle {
		q.Add(singleton)
		return
	}
	q.Add(vaRequest(va))
}

// vaHandler: a VA's create, delete and spec or metadata change (never a
// status-only change, like the product) enqueue it.
func (h handlers) vaHandler() handler.TypedEventHandler[*llmdv1alpha1.VariantAutoscaling, reconcile.Request] {
	return handler.TypedFuncs[*llmdv1alpha1.VariantAutoscaling, reconcile.Request]{
		CreateFunc: func(_ context.Context, e event.TypedCreateEvent[*llmdv1alpha1.VariantAutoscaling], q queue) {
			h.addVA(q, e.Object)
		},
		UpdateFunc: func(_ context.Context, e event.TypedUpdateEvent[*llmdv1alpha1.VariantAutoscaling], q queue) {
			if len(modelgroup.GroupsOfVAChange(e.ObjectOld, e.ObjectNew)) > 0 {
				h.addVA(q, e.ObjectNew)
			}
		},
		DeleteFunc: func(_ context.Context, e event.TypedDeleteEvent[*llmdv1alpha1.VariantAutoscaling], q queue) {
			h.addVA(q, e.Object)
		},
	}
}

// deploymentHandler: a workload's replica change enqueues the VAs targeting it.
func (h handlers) deploymentHandler() handler.TypedEventHandler[*appsv1.Deployment, reconcile.Request] {
	enqueue := func(ctx context.Context, d *appsv1.Deployment, q queue) {
		h.addList(ctx, q, client.InNamespace(d.Namespace),
			client.MatchingFields{indexer.VAScaleTargetKey: indexer.ScaleTargetValue("Deployment", d.Name)})
	}
	return handler.TypedFuncs[*appsv1.Deployment, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[*appsv1.Deployment], q queue) {
			enqueue(ctx, e.Object, q)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*appsv1.Deployment], q queue) {
			if modelgroup.DeploymentScaleChanged(e.ObjectOld, e.ObjectNew) {
				enqueue(ctx, e.ObjectNew, q)
			}
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[*appsv1.Deployment], q queue) {
			enqueue(ctx, e.Object, q)
		},
	}
}

// configMapHandler applies any change of an operator ConfigMap and enqueues
// everything, without diffing: one request per VA for global-per-va.
func (h handlers) configMapHandler() handler.TypedEventHandler[*corev1.ConfigMap, reconcile.Request] {
	apply := func(ctx context.Context, cm *corev1.ConfigMap, deleted bool, q queue) {
		if cm.Namespace != h.configNamespace || !config.IsConfigMapName(cm.Name) {
			return
		}
		if deleted {
			_, _ = h.op.Store.Delete(cm.Name)
		} else {
			_, _ = h.op.Store.Update(cm.Name, cm.Data)
		}
		h.addList(ctx, q)
	}
	return handler.TypedFuncs[*corev1.ConfigMap, reconcile.Request]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[*corev1.ConfigMap], q queue) {
			apply(ctx, e.Object, false, q)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*corev1.ConfigMap], q queue) {
			apply(ctx, e.ObjectNew, false, q)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[*corev1.ConfigMap], q queue) {
			apply(ctx, e.Object, true, q)
		},
	}
}

// loadHandler: a group's load change enqueues the singleton, or the group's VAs.
func (h handlers) loadHandler() handler.TypedEventHandler[modelgroup.Key, reconcile.Request] {
	return handler.TypedFuncs[modelgroup.Key, reconcile.Request]{
		GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[modelgroup.Key], q queue) {
			h.addList(ctx, q, client.InNamespace(e.Object.Namespace),
				client.MatchingFields{indexer.VAModelIDKey: e.Object.ModelID})
		},
	}
}
