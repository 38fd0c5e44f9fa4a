package learning

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Condition is the ProfileLearned condition for a choice (for
// meta.SetStatusCondition, which keeps the transition time while the
// status is unchanged).
func Condition(c Choice, generation int64, now time.Time) metav1.Condition {
	status := metav1.ConditionFalse
	if c.Learned {
		status = metav1.ConditionTrue
	}
	msg := c.Message
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	return metav1.Condition{
		Type: llmdv1alpha1.ConditionProfileLearned, Status: status, Reason: c.Reason, Message: msg,
		ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now.Truncate(time.Second)),
	}
}
