package controller

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
)

// truncateMessage bounds a condition message or Event note: the API server
// refuses a condition message above 32 KiB, which would fail the whole status
// write, and a load source may return any amount of text.
func truncateMessage(s string) string {
	const limit = llmdv1alpha1.MaxConditionMessageLength
	if len(s) <= limit {
		return s
	}
	const marker = " ... (truncated)"
	cut := limit - len(marker)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + marker
}

// setExcludedCondition reports a VA the allocator left out because its own
// input is invalid; the rest of its group was planned.
func setExcludedCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, err error, now time.Time) {
	setOptimizedCondition(st, generation, false, llmdv1alpha1.ConditionReasonVariantInvalid,
		fmt.Sprintf("left out of its group's plan, replicas unchanged: %v", err), now)
}

// approximateMessage says that a plan is heuristic and how far from the
// optimum it can be.
func approximateMessage(res allocator.Result, replicas int) string {
	return fmt.Sprintf("planned %d replicas with a heuristic: the group has %d variants and the exact optimizer takes %d; "+
		"the group costs %s/h, at most %s/h above the lower bound %s/h",
		replicas, len(res.Variants), allocator.MaxVariants,
		llmdv1alpha1.FormatDecimal(res.TotalCost(), 2), llmdv1alpha1.FormatDecimal(res.TotalCost()-res.CostBound, 2),
		llmdv1alpha1.FormatDecimal(res.CostBound, 2))
}

// setImplausibleLoadCondition reports a load reading the allocator held as
// implausible (MAX_LOAD_JUMP_FACTOR).
func setImplausibleLoadCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, rate float64, prev allocator.State, now time.Time) {
	setCondition(st, generation, now, llmdv1alpha1.ConditionMetricsAvailable, false, llmdv1alpha1.ConditionReasonMetricsStale,
		fmt.Sprintf("the measured arrival rate jumped to %s req/s from %s req/s, an implausible jump (%s); replicas are held until it persists for %s",
			llmdv1alpha1.FormatDecimal(rate, 2), llmdv1alpha1.FormatDecimal(prev.Rate, 2), config.KeyMaxLoadJumpFactor, config.KeyLoadJumpConfirmation))
}

// optedIn reports whether a scale target's annotation allows the VA to size
// it: the VA's name in the comma-separated list, or "*".
func optedIn(annotations map[string]string, vaName string) bool {
	v, ok := annotations[llmdv1alpha1.AnnotationScaledBy]
	if !ok {
		return false
	}
	for name := range strings.SplitSeq(v, ",") {
		if name = strings.TrimSpace(name); name == "*" || name == vaName {
			return true
		}
	}
	return false
}
