// Package controller reconciles model groups: it plans each group with the
// allocator, writes statuses that changed, actuates, and keeps cross-group
// choices consistent with a low-frequency global pass.
package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// +kubebuilder:rbac:groups=llmd.ai,resources=variantautoscalings,verbs=get;list;watch
// +kubebuilder:rbac:groups=llmd.ai,resources=variantautoscalings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments/scale;statefulsets/scale,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// GroupReconciler plans one model group per request. Build it with
// NewGroupReconciler: the global pass reads the records it keeps.
type GroupReconciler struct {
	client    client.Client
	actuator  client.Client
	snapshots *modelgroup.Snapshotter
	triggers  *modelgroup.Triggers
	recorder  crrecorder.EventRecorder
	metrics   *Metrics
	cache     *allocator.CapacityCache
	clock     clock.PassiveClock
	actuation Actuation
	dryRun    bool
	records   *records
	// republish publishes the decisions recorded in the VA statuses once,
	// before the first group is planned (see publishRecorded).
	republish sync.Once
	observe   func(modelgroup.Key, modelgroup.Trigger)
	capacity  *CapacityArbiter
	// Issue 12: fresh reads for status conflicts, the target opt-in, and
	// the hold while a ConfigMap is invalid since the start.
	reader       client.Reader
	requireOptIn bool
	configHealth ConfigHealth
	// Issue 15: the learned profiles, fed from the per-pod windows.
	profiles   *learning.Tracker
	podWindows PodWindowSource
	// Issue 18: statuses written off the group workers (nil: in Reconcile).
	statuses *StatusQueue
}

// ReconcilerOptions are what a GroupReconciler works with. Client,
// Snapshots, Triggers, Recorder and Metrics are required.
type ReconcilerOptions struct {
	// Client writes statuses (and patches /scale without an ActuationClient).
	Client client.Client
	// ActuationClient patches /scale with a rate limiter of its own, so
	// that actuation never waits behind status writes (default Client).
	ActuationClient client.Client
	Snapshots       *modelgroup.Snapshotter
	// Triggers tells why a group was enqueued (shared with the event handlers).
	Triggers *modelgroup.Triggers
	Recorder crrecorder.EventRecorder
	Metrics  *Metrics
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// Actuation defaults to ActuationMetrics.
	Actuation Actuation
	// DryRun decides and reports but never actuates, for every VA.
	DryRun bool
	// Observe, when set, is called at the start of every group reconcile.
	Observe func(modelgroup.Key, modelgroup.Trigger)
	// Capacity gives budgets and takes claims when capacity is limited (nil: none).
	Capacity *CapacityArbiter
	// Reader reads a VA afresh (uncached) when its status write conflicts
	// (default Client).
	Reader client.Reader
	// RequireTargetOptIn, with ActuationScale, sizes only targets annotated
	// llmd.ai/scaled-by with the VA's name or "*".
	RequireTargetOptIn bool
	// ConfigHealth, when set, holds every group while a ConfigMap is
	// invalid since the start (the ConfigWatcher).
	ConfigHealth ConfigHealth
	// Profiles learns each VA's profile (docs/learned-profiles.md); nil
	// plans with spec.profile alone. PodWindows feeds it (nil: the
	// estimates resume from the statuses but learn nothing new).
	Profiles   *learning.Tracker
	PodWindows PodWindowSource
	// Statuses, when set, writes the statuses on its own workers, so that a
	// group's Reconcile ends after its actuation; nil writes them in
	// Reconcile (then a failed write fails the reconcile).
	Statuses *StatusQueue
}

// NewGroupReconciler returns a reconciler with an empty record of groups.
func NewGroupReconciler(o ReconcilerOptions) *GroupReconciler {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Actuation == "" {
		o.Actuation = ActuationMetrics
	}
	return &GroupReconciler{
		client: o.Client, actuator: cmp.Or[client.Client](o.ActuationClient, o.Client), snapshots: o.Snapshots, triggers: o.Triggers, recorder: o.Recorder,
		metrics: o.Metrics, cache: allocator.NewCapacityCache(allocator.DefaultCacheSize), clock: o.Clock,
		actuation: o.Actuation, dryRun: o.DryRun, records: newRecords(), observe: o.Observe,
		capacity: o.Capacity,
		reader:   cmp.Or[client.Reader](o.Reader, o.Client), requireOptIn: o.RequireTargetOptIn, configHealth: o.ConfigHealth,
		profiles: o.Profiles, podWindows: o.PodWindows, statuses: o.Statuses,
	}
}

// Reconcile gathers the group's snapshot, plans it, writes the statuses that
// changed, actuates and asks to be called again when a time rule matures.
//
// It returns either an error or a RequeueAfter, never both: controller-runtime
// ignores the result when there is an error and retries with its backoff;
// that retry plans the group afresh, time rules included.
func (r *GroupReconciler) Reconcile(ctx context.Context, key modelgroup.Key) (reconcile.Result, error) {
	trigger := r.triggers.Take(key)
	logger := log.FromContext(ctx).WithValues("group", key.String(), "trigger", trigger)
	ctx = log.IntoContext(ctx, logger)
	logger.Info("Starting reconciliation")
	r.metrics.GroupReconciles.WithLabelValues(string(trigger)).Inc()
	if r.observe != nil {
		r.observe(key, trigger)
	}
	start := r.clock.Now()

	r.republish.Do(func() {
		if err := r.publishRecorded(ctx); err != nil {
			logger.Error(err, "Republishing the recorded decisions")
		}
	})
	snap, err := r.snapshots.Snapshot(ctx, key)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("reading model group %s: %w", key, err)
	}
	// Statuses still queued are the members' statuses (StatusQueue.Overlay).
	for i := range snap.Members {
		r.statuses.Overlay(snap.Members[i].VA)
	}
	previous := r.records.get(key)
	if len(snap.Members) == 0 {
		r.forgetVariants(previous, nil)
		r.records.remove(key)
		r.capacity.Forget(key)
		r.forgetProfiles(key, previous, nil)
		return reconcile.Result{}, nil
	}
	r.metrics.VariantEvaluations.Add(float64(len(snap.Members)))
	snap.RequireOptIn = r.actuation == ActuationScale && r.requireOptIn && !r.dryRun
	var plan groupPlan
	if cause := invalidSinceStart(r.configHealth); cause != nil {
		plan = holdForInvalidConfig(snap, previous, cause, start)
	} else {
		plan = planGroupWithin(snap, previous.State, start, r.cache, r.capacity, r.learn(ctx, snap))
	}
	if c := plan.Capacity.Claim; c != nil {
		r.capacity.RecordClaim(key, *c)
	} else {
		r.capacity.Forget(key)
	}

	// Actuation first: the decision reaches the workload before the
	// group's status writes, which may wait for the API server.
	record, actuateErr := r.actuate(ctx, plan, previous)
	statusErr := r.writeStatuses(ctx, plan)
	r.recordEvents(plan)
	r.forgetVariants(previous, record)
	r.forgetProfiles(key, previous, record)
	r.records.put(key, record)

	r.metrics.OptimizationSeconds.Observe(r.clock.Since(start).Seconds())
	if err := errors.Join(readErrors(snap), statusErr, actuateErr); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: requeueAfter(plan, start, snap.Config.Operator.OptInterval)}, nil
}

// readErrors returns the targets that could not be read, so that the group is
// retried until they can: their VAs are left as they are meanwhile.
func readErrors(snap *modelgroup.Snapshot) error {
	var errs []error
	for i := range snap.Members {
		if err := snap.Members[i].Target.Err; err != nil {
			va := snap.Members[i].VA
			errs = append(errs, fmt.Errorf("reading the scale target of %s/%s: %w", va.Namespace, va.Name, err))
		}
	}
	return errors.Join(errs...)
}

// actuate applies the desired replicas of planned VAs in Auto mode, and
// returns the group's record with the series it published.
// Every VA whose workload it owns keeps a series (seriesValue says which value).
func (r *GroupReconciler) actuate(ctx context.Context, plan groupPlan, previous *groupRecord) (*groupRecord, error) {
	record := &groupRecord{State: plan.State, ScaleToZero: plan.ScaleToZero, Variants: make(map[string]variantRecord, len(plan.Variants))}
	var errs []error
	for i := range plan.Variants {
		vp := &plan.Variants[i]
		va := vp.Member.VA
		vr := variantRecord{Generation: va.Generation, Desired: vp.Status.DesiredReplicas}
		if vp.Status.Decision != nil {
			vr.Reason = string(vp.Status.Decision.Reason)
			if vp.Status.Decision.Reason == llmdv1alpha1.ReasonKeepCheapest && vp.Desired > 0 {
				record.KeptCheapest = va.Name
			}
		}
		if value, ok := seriesValue(vp, previous.Variants[va.Name], r.dryRun); ok {
			vr.Series, vr.Value = seriesOf(va), value
			r.metrics.publish(vr.Series, value, vp.Member.Target.StatusReplicas)
			if vp.Planned {
				r.metrics.publishPlan(vr.Series, vp.Cost*float64(value), vp.Capacity)
			}
		}
		if vp.Planned && !r.dryRun && va.Spec.EffectiveMode() == llmdv1alpha1.ModeAuto {
			if r.actuation == ActuationScale && vp.Desired != vp.Member.Target.SpecReplicas {
				if err := scaleTarget(ctx, r.actuator, va, vp.Desired); err != nil {
					errs = append(errs, err)
				}
			}
		}
		record.Variants[va.Name] = vr
	}
	return record, errors.Join(errs...)
}

// forgetVariants deletes the series of variants the group published before
// and does not publish now (deleted VAs, VAs moved away, Preview).
func (r *GroupReconciler) forgetVariants(previous, current *groupRecord) {
	for name, vr := range previous.Variants {
		if !vr.Series.published() || (current != nil && current.Variants[name].Series == vr.Series) {
			continue
		}
		r.metrics.unpublish(vr.Series)
	}
}

// requeueAfter is when the group must be planned again: when the next time
// rule matures, and at the latest after the optimization interval.
func requeueAfter(plan groupPlan, now time.Time, interval time.Duration) time.Duration {
	if plan.NextEvaluation.IsZero() {
		return interval
	}
	wait := plan.NextEvaluation.Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return min(wait, interval)
}
