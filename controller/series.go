package controller

import (
	"context"
	"fmt"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// seriesValue is the wva_desired_replicas a VA's series carries after a
// reconcile, and false when the VA has no series: its workload is missing,
// cannot be read, or is sized by an older VA.
//
// The series never vanishes while the VA exists, because a consumer may read
// a missing value as 0 (KEDA's Prometheus scaler does by default):
//   - Auto, planned: the decision;
//   - Auto, not planned (invalid config or profile, unknown load, ...): the
//     last value published, else the status's desiredReplicas (the first
//     reconcile after a restart), else the workload's own spec.replicas;
//   - Preview, or the operator runs with --dry-run: the workload's own
//     spec.replicas. This hands the workload back: the HPA or KEDA keeps what
//     is set, and a person who scales the workload is followed, never undone
//     and never scaled to zero.
func seriesValue(vp *variantPlan, previous variantRecord, dryRun bool) (int32, bool) {
	m := vp.Member
	if !m.Target.Found || m.Target.Err != nil || m.OwnerOfTarget != "" {
		return 0, false
	}
	switch {
	case dryRun || m.VA.Spec.EffectiveMode() != llmdv1alpha1.ModeAuto:
		return m.Target.SpecReplicas, true
	case vp.Planned:
		return vp.Desired, true
	case previous.Series.published():
		return previous.Value, true
	case m.VA.Status.DesiredReplicas != nil:
		return *m.VA.Status.DesiredReplicas, true
	default:
		return m.Target.SpecReplicas, true
	}
}

// publishRecorded publishes, once at the first reconcile after the process
// starts and before any group is planned, the desiredReplicas recorded in
// the status of every VA in Auto mode, so the series a restart lost reappear
// at once instead of group by group.
func (r *GroupReconciler) publishRecorded(ctx context.Context) error {
	if r.dryRun {
		return nil
	}
	var list llmdv1alpha1.VariantAutoscalingList
	if err := r.client.List(ctx, &list); err != nil {
		return fmt.Errorf("listing VariantAutoscalings to republish their decisions: %w", err)
	}
	for i := range list.Items {
		va := &list.Items[i]
		if va.Spec.EffectiveMode() == llmdv1alpha1.ModeAuto && va.Status.DesiredReplicas != nil {
			r.metrics.publish(seriesOf(va), *va.Status.DesiredReplicas, va.Status.CurrentReplicas)
		}
	}
	return nil
}
