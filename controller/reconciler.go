// Package controller reconciles model groups: it plans each group with the
// allocator, writes statuses that changed, actuates, and keeps cross-group
// choices consistent with a low-frequency global pass.
package controller

import (
	"context"
	"errors"
	"maps"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// +kubebuilder:rbac:groups=llmd.ai,resources=variantautoscalings,verbs=get;list;watch
// +kubebuilder:rbac:groups=llmd.ai,resources=variantautoscalings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments/scale;statefulsets/scale,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// GroupReconciler plans one model group per request.
type GroupReconciler struct {
	Client    client.Client
	Snapshots *modelgroup.Snapshotter
	Triggers  *modelgroup.Triggers
	Recorder  crrecorder.EventRecorder
	Metrics   *Metrics
	Cache     *allocator.CapacityCache
	Clock     func() time.Time
	Actuation Actuation
	// DryRun decides and reports but never actuates, for every VA.
	DryRun bool

	records *records
	observe func(modelgroup.Key, modelgroup.Trigger)
}

// Reconcile gathers the group's snapshot, plans it, writes the statuses that
// changed, actuates and asks to be called again when a time rule matures.
func (r *GroupReconciler) Reconcile(ctx context.Context, key modelgroup.Key) (reconcile.Result, error) {
	trigger := r.Triggers.Take(key)
	logger := log.FromContext(ctx).WithValues("group", key.String(), "trigger", trigger)
	ctx = log.IntoContext(ctx, logger)
	logger.Info("Starting reconciliation")
	r.Metrics.GroupReconciles.WithLabelValues(string(trigger)).Inc()
	if r.observe != nil {
		r.observe(key, trigger)
	}
	start := r.Clock()

	snap, err := r.Snapshots.Snapshot(ctx, key)
	if err != nil {
		return reconcile.Result{}, err
	}
	previous := r.records.get(key)
	if len(snap.Members) == 0 {
		r.forgetVariants(previous, nil)
		r.records.remove(key)
		return reconcile.Result{}, nil
	}
	r.Metrics.VariantEvaluations.Add(float64(len(snap.Members)))
	plan := planGroup(snap, previous.State, start, r.Cache)

	statusErr := r.writeStatuses(ctx, plan)
	record, actuateErr := r.actuate(ctx, plan)
	r.recordEvents(plan)
	r.forgetVariants(previous, record)
	r.records.put(key, record)

	r.Metrics.OptimizationSeconds.Observe(r.Clock().Sub(start).Seconds())
	return reconcile.Result{RequeueAfter: requeueAfter(plan, start, snap.Config.Operator.OptInterval)}, errors.Join(statusErr, actuateErr)
}

// actuate applies the desired replicas of planned VAs in Auto mode, and
// returns the group's record with the series it published.
func (r *GroupReconciler) actuate(ctx context.Context, plan groupPlan) (*groupRecord, error) {
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
		if vp.Planned && !r.DryRun && va.Spec.EffectiveMode() == llmdv1alpha1.ModeAuto {
			vr.Series = seriesLabels(va)
			r.Metrics.publish(va, vp.Desired, vp.Member.Target.StatusReplicas)
			if r.Actuation == ActuationScale && vp.Desired != vp.Member.Target.SpecReplicas {
				if err := scaleTarget(ctx, r.Client, va, vp.Desired); err != nil {
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
		if vr.Series == nil {
			continue
		}
		if current != nil && maps.Equal(current.Variants[name].Series, vr.Series) {
			continue
		}
		r.Metrics.DesiredReplicas.Delete(vr.Series)
		r.Metrics.CurrentReplicas.Delete(vr.Series)
		r.Metrics.DesiredRatio.Delete(vr.Series)
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
