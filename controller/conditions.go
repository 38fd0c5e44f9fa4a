package controller

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Each setXxxCondition is pure: it sets one condition on the status from what
// the snapshot and the plan say. meta.SetStatusCondition keeps the transition
// time when the status does not change, so an unchanged input writes nothing.

func setCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, now time.Time,
	condType string, ok bool, reason, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	setConditionStatus(st, generation, now, condType, status, reason, message)
}

// setConditionStatus sets a condition to any status, Unknown included: a
// read that failed is not a fact, so it is reported as Unknown, never False.
func setConditionStatus(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, now time.Time,
	condType string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: truncateMessage(message),
		ObservedGeneration: generation, LastTransitionTime: metaTime(now),
	})
}

// setTargetResolvedCondition says whether the scale target exists and this VA owns it.
func setTargetResolvedCondition(st *llmdv1alpha1.VariantAutoscalingStatus, m *modelgroup.Member, now time.Time) {
	ref := m.VA.Spec.ScaleTargetRef
	target := fmt.Sprintf("%s %s", ref.Kind, ref.Name)
	switch {
	case m.OwnerOfTarget != "":
		setCondition(st, m.VA.Generation, now, llmdv1alpha1.ConditionTargetResolved, false, llmdv1alpha1.ConditionReasonTargetConflict,
			fmt.Sprintf("%s is already sized by the older VariantAutoscaling %s; this one is left alone", target, m.OwnerOfTarget))
	case m.Target.Err != nil:
		setConditionStatus(st, m.VA.Generation, now, llmdv1alpha1.ConditionTargetResolved, metav1.ConditionUnknown,
			llmdv1alpha1.ConditionReasonTargetReadFailed, fmt.Sprintf("reading %s failed: %v", target, m.Target.Err))
	case !m.Target.Found:
		setCondition(st, m.VA.Generation, now, llmdv1alpha1.ConditionTargetResolved, false, llmdv1alpha1.ConditionReasonTargetNotFound,
			fmt.Sprintf("%s does not exist in namespace %s", target, m.VA.Namespace))
	default:
		setCondition(st, m.VA.Generation, now, llmdv1alpha1.ConditionTargetResolved, true, llmdv1alpha1.ConditionReasonTargetFound,
			fmt.Sprintf("%s has %d replicas", target, m.Target.SpecReplicas))
	}
}

// setMetricsAvailableCondition says whether the group's load could be read.
func setMetricsAvailableCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, load modelgroup.LoadReading, now time.Time) {
	if load.Available {
		setCondition(st, generation, now, llmdv1alpha1.ConditionMetricsAvailable, true, llmdv1alpha1.ConditionReasonMetricsFound,
			"the model's load is known")
		return
	}
	reason := load.Reason
	if reason == "" || reason == llmdv1alpha1.ConditionReasonMetricsFound {
		reason = llmdv1alpha1.ConditionReasonMetricsMissing
	}
	msg := load.Message
	if msg == "" {
		msg = "no load data for the model"
	}
	setCondition(st, generation, now, llmdv1alpha1.ConditionMetricsAvailable, false, reason, msg+"; replicas are held")
}

// setOptimizedUnknownCondition says the VA could not be planned because
// something it depends on could not be read.
func setOptimizedUnknownCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, reason, message string, now time.Time) {
	setConditionStatus(st, generation, now, llmdv1alpha1.ConditionOptimized, metav1.ConditionUnknown, reason, message)
}

// setOptimizedCondition says whether the desired replicas come from a
// successful plan, and if not, why.
func setOptimizedCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, ok bool, reason, message string, now time.Time) {
	setCondition(st, generation, now, llmdv1alpha1.ConditionOptimized, ok, reason, message)
}
