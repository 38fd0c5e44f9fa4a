package controller

import (
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// The learning part of a status (status.learnedProfile and the
// ProfileLearned condition, whose message carries sample counts) changes at
// every refresh while pod windows flow. Written each time, it would cost one
// status write per learning VA per refresh; it is written when it moved:
const (
	// learnedParamTolerance is the relative change of α, β, γ or δ that is
	// worth a write.
	learnedParamTolerance = 0.02
	// learnedStdErrTolerance is the relative change of a standard error
	// that is worth a write.
	learnedStdErrTolerance = 0.25
	// learnedStatusRefresh is the longest the stored estimate lags the one in
	// memory (sample counts, update time): a restart resumes from at most
	// this far back.
	learnedStatusRefresh = 10 * time.Minute
)

// keepLearningStatus puts back the stored learning part of the status when
// the planned one has not moved enough to be written: the same
// ProfileLearned status and reason, every parameter within
// learnedParamTolerance and every standard error within
// learnedStdErrTolerance, and the stored one younger than
// learnedStatusRefresh. It says whether it kept the stored part.
func keepLearningStatus(stored llmdv1alpha1.VariantAutoscalingStatus, st *llmdv1alpha1.VariantAutoscalingStatus) bool {
	old, cur := stored.LearnedProfile, st.LearnedProfile
	oldCond := meta.FindStatusCondition(stored.Conditions, llmdv1alpha1.ConditionProfileLearned)
	curCond := meta.FindStatusCondition(st.Conditions, llmdv1alpha1.ConditionProfileLearned)
	if old == nil || cur == nil || oldCond == nil || curCond == nil ||
		oldCond.Status != curCond.Status || oldCond.Reason != curCond.Reason || oldCond.ObservedGeneration != curCond.ObservedGeneration {
		return false
	}
	if old.LastUpdateTime == nil || cur.LastUpdateTime == nil || cur.LastUpdateTime.Sub(old.LastUpdateTime.Time) >= learnedStatusRefresh {
		return false
	}
	for _, p := range [][2]string{
		{old.Decode.Alpha, cur.Decode.Alpha}, {old.Decode.Beta, cur.Decode.Beta},
		{old.Prefill.Gamma, cur.Prefill.Gamma}, {old.Prefill.Delta, cur.Prefill.Delta},
	} {
		if movedBy(p[0], p[1]) > learnedParamTolerance {
			return false
		}
	}
	for _, p := range [][2]string{
		{old.StandardErrors.Alpha, cur.StandardErrors.Alpha}, {old.StandardErrors.Beta, cur.StandardErrors.Beta},
		{old.StandardErrors.Gamma, cur.StandardErrors.Gamma}, {old.StandardErrors.Delta, cur.StandardErrors.Delta},
	} {
		if movedBy(p[0], p[1]) > learnedStdErrTolerance {
			return false
		}
	}
	st.LearnedProfile = old.DeepCopy()
	meta.SetStatusCondition(&st.Conditions, *oldCond)
	return true
}

// movedBy is the relative change between two stored decimals; +Inf when
// either does not parse.
func movedBy(before, after string) float64 {
	if before == after {
		return 0
	}
	b, err1 := llmdv1alpha1.ParseDecimal("before", before)
	a, err2 := llmdv1alpha1.ParseDecimal("after", after)
	if err1 != nil || err2 != nil {
		return math.Inf(1)
	}
	return math.Abs(a-b) / math.Max(math.Abs(b), 1e-9)
}
