package controller

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/source"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=workload-variant-autoscaler-system,resources=leases,verbs=get;list;watch;create;update;patch;delete

// ControllerName names the model-group controller (also the Event reporter).
const ControllerName = "variant-autoscaler"

// Options configure the operator's controllers.
type Options struct {
	// ConfigNamespace holds the operator's ConfigMaps.
	ConfigNamespace string
	// Store is the configuration in force. The process creates it at start
	// (config.NewStore with the manager's environment) and shares it with
	// whatever else reads the configuration, such as the load source, which
	// subscribes to it for changes. Required.
	Store *config.Store
	// Load gives each group's load. Sources that also implement
	// manager.Runnable are started with the manager; those implementing
	// modelgroup.LoadNotifier enqueue the groups whose load moved.
	Load modelgroup.LoadSource
	// Actuation is how desired replicas reach workloads (default metrics).
	Actuation Actuation
	// DryRun decides and reports, never actuates.
	DryRun bool
	// RequireTargetOptIn, with ActuationScale, sizes only targets annotated
	// llmd.ai/scaled-by with the VA's name or "*" (the manager's default).
	RequireTargetOptIn bool
	// MaxConcurrentReconciles is the number of groups planned at once (default 4).
	MaxConcurrentReconciles int
	// StatusWriters is the number of status writes in flight at once
	// (default DefaultStatusWriters).
	StatusWriters int
	// Metrics receives the operator's series (default DefaultMetrics()).
	Metrics *Metrics
	// Clock defaults to the real clock; tests inject a fake one.
	Clock clock.Clock
	// SkipNameValidation lets tests run several managers in one process.
	SkipNameValidation bool
	// ProfileForgetting is the learned profiles' forgetting factor
	// (estimator.Config.Forgetting; 0: the estimator's default). The
	// manager sets it from --profile-window and --profile-memory.
	ProfileForgetting float64
	// ObserveReconcile, when set, is called at the start of every group
	// reconcile; tests and the load harness count work per group with it.
	ObserveReconcile func(modelgroup.Key, modelgroup.Trigger)
}

// Operator is what SetupControllers wired, for the manager binary and tests.
type Operator struct {
	Store      *config.Store
	Reconciler *GroupReconciler
	GlobalPass *GlobalPass
	Config     *ConfigWatcher
	Metrics    *Metrics
	// Capacity arbitrates accelerators when CAPACITY_MODE is limited.
	Capacity *CapacityArbiter
}

// CacheOptions restricts the manager's cache: ConfigMaps only in the config
// namespace, everything else in watchNamespaces (all when empty); and it
// keeps only what the operator reads (cache_transform.go).
func CacheOptions(configNamespace string, watchNamespaces []string) cache.Options {
	opts := cache.Options{
		DefaultTransform: stripManagedFields,
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}:  {Namespaces: map[string]cache.Config{configNamespace: {}}},
			&appsv1.Deployment{}: {Transform: slimDeployment},
			// All namespaces: pods of other workloads hold accelerators too.
			&corev1.Pod{}:  {Transform: slimPod, Namespaces: map[string]cache.Config{cache.AllNamespaces: {}}},
			&corev1.Node{}: {Transform: slimNode},
		},
	}
	if len(watchNamespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range watchNamespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// SetupControllers wires the model-group controller, the config watcher and
// the global pass into mgr. The manager binary, the demo, the load harness
// and the tests all call it unchanged.
func SetupControllers(ctx context.Context, mgr manager.Manager, opts Options) (*Operator, error) {
	if opts.Load == nil {
		return nil, errors.New("a load source is required")
	}
	if opts.Store == nil {
		return nil, errors.New("a config store is required (config.NewStore)")
	}
	if opts.ConfigNamespace == "" {
		opts.ConfigNamespace = config.DefaultNamespace
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 4
	}
	if opts.StatusWriters <= 0 {
		opts.StatusWriters = DefaultStatusWriters
	}
	if opts.Metrics == nil {
		opts.Metrics = DefaultMetrics()
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if err := indexer.Setup(ctx, mgr.GetFieldIndexer()); err != nil {
		return nil, err
	}

	store := opts.Store
	// Issue 12: an invalid environment override stops the start with a
	// clear message (the store has seen nothing but the environment yet).
	if err := store.LastError(config.OperatorConfigMapName); err != nil {
		return nil, fmt.Errorf("the manager does not start: an environment variable overriding %s is invalid: %w",
			config.OperatorConfigMapName, err)
	}
	triggers := modelgroup.NewTriggers()
	enqueuer := modelgroup.Enqueuer{Triggers: triggers, Reader: mgr.GetCache()}
	recorder := mgr.GetEventRecorder(ControllerName)

	watcher := &ConfigWatcher{
		Namespace: opts.ConfigNamespace, Store: store, Cache: mgr.GetCache(), Enqueuer: enqueuer,
		Recorder: recorder, Metrics: opts.Metrics,
	}
	// The manager's API reader works before the caches start.
	watcher.LoadInitial(ctx, mgr.GetAPIReader())

	capacity := NewCapacityArbiter(mgr.GetCache(), mgr.GetCache(), store, triggers, opts.Clock.Now)
	store.Subscribe(func(c config.Change) {
		if c.Timers { // covers the CAPACITY_* settings
			capacity.Kick()
		}
	})
	actuator, err := newActuationClient(mgr)
	if err != nil {
		return nil, err
	}
	// Statuses are written on workers of their own (issue 18): a group's
	// actuation never waits behind other groups' status writes.
	statuses := NewStatusQueue(mgr.GetClient(), mgr.GetAPIReader(), opts.Metrics, opts.StatusWriters)
	if err := mgr.Add(statuses); err != nil {
		return nil, err
	}
	rec := NewGroupReconciler(ReconcilerOptions{
		Client: mgr.GetClient(), ActuationClient: actuator,
		Snapshots: &modelgroup.Snapshotter{
			Cache: mgr.GetCache(), Scales: mgr.GetClient(), Config: store, Load: opts.Load,
		},
		Triggers: triggers, Recorder: recorder, Metrics: opts.Metrics, Clock: opts.Clock,
		Actuation: opts.Actuation, DryRun: opts.DryRun, Observe: opts.ObserveReconcile, Capacity: capacity,
		Reader: mgr.GetAPIReader(), RequireTargetOptIn: opts.RequireTargetOptIn, ConfigHealth: watcher,
		Profiles: learning.NewTracker(estimator.Config{Forgetting: opts.ProfileForgetting}), PodWindows: podWindowsOf(opts.Load),
		Statuses: statuses,
	})
	pass := NewGlobalPass(rec, mgr.GetCache(), store, opts.Clock)

	b := builder.TypedControllerManagedBy[modelgroup.Key](mgr).
		Named("modelgroup").
		WithOptions(crcontroller.TypedOptions[modelgroup.Key]{
			MaxConcurrentReconciles: opts.MaxConcurrentReconciles,
			SkipNameValidation:      ptr.To(opts.SkipNameValidation),
			RateLimiter:             groupRateLimiter(),
		}).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &llmdv1alpha1.VariantAutoscaling{}, enqueuer.VAHandler())).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &appsv1.Deployment{}, enqueuer.DeploymentHandler(mgr.GetCache()))).
		WatchesRawSource(source.TypedKind(mgr.GetCache(), &corev1.ConfigMap{}, watcher.Handler())).
		WatchesRawSource(source.TypedChannel(pass.Events(), handler.TypedFuncs[modelgroup.Key, modelgroup.Key]{
			GenericFunc: func(_ context.Context, e event.TypedGenericEvent[modelgroup.Key], q modelgroup.Queue) {
				q.Add(e.Object)
			},
		})).
		WatchesRawSource(source.TypedChannel(capacity.Events(), handler.TypedFuncs[modelgroup.Key, modelgroup.Key]{
			GenericFunc: func(_ context.Context, e event.TypedGenericEvent[modelgroup.Key], q modelgroup.Queue) {
				q.Add(e.Object)
			},
		}))
	if n, ok := opts.Load.(modelgroup.LoadNotifier); ok {
		b = b.WatchesRawSource(source.TypedChannel(n.Changes(), enqueuer.LoadHandler()))
	}
	if err := b.Complete(rec); err != nil {
		return nil, fmt.Errorf("building the model-group controller: %w", err)
	}
	if err := mgr.Add(pass); err != nil {
		return nil, err
	}
	if err := mgr.Add(capacity); err != nil {
		return nil, err
	}
	if r, ok := opts.Load.(manager.Runnable); ok {
		if err := mgr.Add(r); err != nil {
			return nil, err
		}
	}
	return &Operator{Store: store, Reconciler: rec, GlobalPass: pass, Config: watcher, Metrics: opts.Metrics, Capacity: capacity}, nil
}
