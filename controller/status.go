package controller

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// writeStatuses writes (or queues) the status of each VA whose status
// changed, once each.
func (r *GroupReconciler) writeStatuses(ctx context.Context, plan groupPlan) error {
	var errs []error
	for i := range plan.Variants {
		vp := &plan.Variants[i]
		va := vp.Member.VA
		if equality.Semantic.DeepEqual(va.Status, vp.Status) {
			continue
		}
		if r.statuses != nil {
			r.statuses.Submit(va, vp.Status)
			continue
		}
		r.metrics.StatusWrites.Inc()
		// Optimistic locking, retried on a fresh read (issue 12, defect 8).
		if _, err := WriteStatus(ctx, r.client, r.reader, va, vp.Status); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recordEvents emits one Event per VA whose desired replicas changed; none
// when nothing changed.
func (r *GroupReconciler) recordEvents(plan groupPlan) {
	for i := range plan.Variants {
		vp := &plan.Variants[i]
		if !vp.Planned {
			continue
		}
		va := vp.Member.VA
		before := vp.Member.Target.SpecReplicas
		if va.Status.DesiredReplicas != nil {
			before = *va.Status.DesiredReplicas
		}
		if before == vp.Desired && va.Status.DesiredReplicas != nil {
			continue
		}
		eventType, reason := decisionEvent(vp.Status.Decision.Reason, before, vp.Desired)
		if reason == "" {
			continue
		}
		note := fmt.Sprintf("desired replicas %d -> %d (%s)", before, vp.Desired, vp.Status.Decision.Reason)
		if va.Spec.EffectiveMode() == llmdv1alpha1.ModePreview || r.dryRun {
			note += "; preview only, not actuated"
		}
		r.recorder.Eventf(va, nil, eventType, reason, "Scale", "%s", truncateMessage(note))
	}
}

// Event reasons on decisions that changed.
const (
	EventScaledUp        = "ScaledUp"
	EventScaledDown      = "ScaledDown"
	EventScaledToZero    = "ScaledToZero"
	EventKeptCheapest    = "KeptCheapest"
	EventCapacityLimited = "CapacityLimited"
	EventConfigInvalid   = "ConfigInvalid"
)

// decisionEvent names the Event of a change of desired replicas.
func decisionEvent(reason llmdv1alpha1.DecisionReason, before, after int32) (eventType, eventReason string) {
	switch {
	case reason == llmdv1alpha1.ReasonCapacityLimited:
		return corev1.EventTypeWarning, EventCapacityLimited
	case reason == llmdv1alpha1.ReasonScaleToZero:
		return corev1.EventTypeNormal, EventScaledToZero
	case reason == llmdv1alpha1.ReasonKeepCheapest:
		return corev1.EventTypeNormal, EventKeptCheapest
	case after > before:
		return corev1.EventTypeNormal, EventScaledUp
	case after < before:
		return corev1.EventTypeNormal, EventScaledDown
	}
	return "", ""
}
