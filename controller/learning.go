package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Issue 15: profiles learned online (docs/learned-profiles.md). The
// reconciler feeds each VA's estimator the windows of its pods once per
// refresh (learnGroup), and the plan chooses the profile each VA is planned
// with (chooseProfile), writing status.learnedProfile and ProfileLearned.

// PodWindowSource gives the per-pod windows of a group read by the last
// refresh (pod name → window) and the time they start and end;
// loadsource.Prometheus with PodWindows set is one.
type PodWindowSource interface {
	PodWindows(key modelgroup.Key) (windows map[string]estimator.Window, start, end time.Time)
}

// learnedVariant is what the tracker knows of one VA, for its plan.
type learnedVariant struct {
	Estimate estimator.Estimate
	// Prior names the prior the estimate started from (status.learnedProfile.prior).
	Prior string
}

// learnedProfiles holds the learning state of a group's VAs by name. A nil
// map means learning is off: the plan uses spec.profile alone, as before
// issue 15 (planGroup, the planner command).
type learnedProfiles map[string]learnedVariant

// podsOfVariants gives each member the windows of its pods, in pod-name
// order (the estimator's result depends on the order). A group with one
// variant takes all its pods; otherwise a pod belongs to the member whose
// scale target's name, followed by a dash, is the longest prefix of the
// pod's name (a Deployment's pods are named <deployment>-<hash>-<suffix>).
// Pods no member claims are left out.
func podsOfVariants(members []modelgroup.Member, pods map[string]estimator.Window) map[string][]estimator.Window {
	names := make([]string, 0, len(pods))
	for p := range pods {
		names = append(names, p)
	}
	slices.Sort(names)
	out := map[string][]estimator.Window{}
	if len(members) == 1 {
		for _, p := range names {
			out[members[0].VA.Name] = append(out[members[0].VA.Name], pods[p])
		}
		return out
	}
	for _, p := range names {
		best, bestLen := "", 0
		for i := range members {
			target := members[i].VA.Spec.ScaleTargetRef.Name
			if target != "" && strings.HasPrefix(p, target+"-") && len(target) > bestLen {
				best, bestLen = members[i].VA.Name, len(target)
			}
		}
		if best != "" {
			out[best] = append(out[best], pods[p])
		}
	}
	return out
}

// learnGroup feeds each learning member's estimator the windows of its pods
// that ended at `end` (the tracker takes a window end once, however often the
// group is reconciled) and returns every member's estimate. Members pinned to
// spec.profile learn nothing. Errors (a status that cannot be resumed from,
// bad windows) are returned for the log: what could be learned still is.
func learnGroup(tr *learning.Tracker, members []modelgroup.Member, pods map[string]estimator.Window, start, end time.Time) (learnedProfiles, error) {
	byVA := podsOfVariants(members, pods)
	out := make(learnedProfiles, len(members))
	var errs []error
	for i := range members {
		va := members[i].VA
		if va.Spec.EffectiveProfileSource() == llmdv1alpha1.ProfileSourceSpec {
			continue
		}
		if ws := byVA[va.Name]; len(ws) > 0 && !end.IsZero() {
			if _, err := tr.Observe(va, start, end, ws, int(va.Spec.Profile.MaxBatchSize)); err != nil {
				errs = append(errs, err)
			}
		}
		est, prior, err := tr.Estimate(va)
		if err != nil {
			errs = append(errs, err)
		}
		out[va.Name] = learnedVariant{Estimate: est, Prior: prior.Source}
	}
	return out, errors.Join(errs...)
}

// forgetLearned drops the estimators of the VAs the group had before and
// has no more (deleted, or moved to another model); a VA that comes back
// resumes from its status.
func forgetLearned(tr *learning.Tracker, namespace string, previous, current *groupRecord) {
	for name := range previous.Variants {
		if current != nil {
			if _, ok := current.Variants[name]; ok {
				continue
			}
		}
		tr.Forget(types.NamespacedName{Namespace: namespace, Name: name})
	}
}

// profileChoice is the profile a member is planned with, or why it cannot be.
type profileChoice struct {
	Profile allocator.Profile
	// Err is set when there is no profile to plan with (the replicas are
	// held) or spec.profile is invalid: the Optimized condition's message.
	Err error
}

// chooseProfile chooses the profile of one member and, when learning is on
// (learned non-nil), writes status.learnedProfile and the ProfileLearned
// condition into st. The rule is learning.Choose: the learned profile once
// it is good enough at the operating point (the batch a replica runs at
// under the SLO with the learned profile), the spec profile meanwhile, and
// with neither no profile: the variant is not planned and its replicas are
// held.
func chooseProfile(cfg *config.Config, m *modelgroup.Member, learned learnedProfiles, load modelgroup.LoadReading,
	st *llmdv1alpha1.VariantAutoscalingStatus, now time.Time) profileChoice {
	va := m.VA
	var spec *llmdv1alpha1.ParsedProfile
	if !va.Spec.Profile.IsZero() || learned == nil {
		p, err := va.Spec.Profile.Parse()
		if err != nil {
			return profileChoice{Err: err}
		}
		spec = &p
	}
	specProfile := func() allocator.Profile {
		return allocator.Profile{MaxBatchSize: spec.MaxBatchSize, Alpha: spec.Alpha, Beta: spec.Beta, Gamma: spec.Gamma, Delta: spec.Delta}
	}
	if learned == nil {
		return profileChoice{Profile: specProfile()}
	}
	maxBatch := learning.DefaultMaxBatchSize
	var specParams *estimator.Params
	if spec != nil {
		maxBatch = spec.MaxBatchSize
		specParams = &estimator.Params{Alpha: spec.Alpha, Beta: spec.Beta, Gamma: spec.Gamma, Delta: spec.Delta}
	}
	lv := learned[va.Name]
	learnedProfile := learning.Profile(lv.Estimate.Params, maxBatch)
	op := estimator.OperatingPoint{}
	if load.Available {
		op.InputTokens = load.Load.AvgInputTokens
		if slo, _, err := cfg.SLOFor(va.Namespace, va.Spec.ModelID, va.Spec.ServiceClass); err == nil {
			op = learning.OperatingPoint(lv.Estimate.Params, maxBatch, allocator.SLO{TTFT: slo.TTFT, ITL: slo.ITL}, load.Load.AvgInputTokens, load.Load.AvgOutputTokens)
		}
	}
	c := learning.Choose(va.Spec.EffectiveProfileSource(), specParams, lv.Estimate, estimator.Thresholds{}, op)
	setProfileLearnedCondition(st, va.Generation, c, now)
	setLearnedProfile(st, lv)
	if keepLearningStatus(va.Status, st) && c.Source == learning.SourceLearned {
		// Plan with the estimate as stored: it is within the tolerances of
		// the one in memory, and the decision (its predicted latencies) then
		// moves only when the stored estimate does, instead of rewriting the
		// status at every refresh.
		if stored, err := learning.FromStatus(st.LearnedProfile); err == nil {
			learnedProfile = learning.Profile(stored.Params, maxBatch)
		}
	}
	switch c.Source {
	case learning.SourceLearned:
		return profileChoice{Profile: learnedProfile}
	case learning.SourceSpec:
		return profileChoice{Profile: specProfile()}
	default:
		return profileChoice{Err: errors.New(c.Held)}
	}
}

// setProfileLearnedCondition sets ProfileLearned from the choice.
func setProfileLearnedCondition(st *llmdv1alpha1.VariantAutoscalingStatus, generation int64, c learning.Choice, now time.Time) {
	setCondition(st, generation, now, llmdv1alpha1.ConditionProfileLearned, c.Learned, c.Reason, c.Message)
}

// setLearnedProfile writes the estimate into status.learnedProfile once it
// has learned something (before that it is the prior, not a learned
// profile); the values are rounded so that jitter writes nothing.
func setLearnedProfile(st *llmdv1alpha1.VariantAutoscalingStatus, lv learnedVariant) {
	e := lv.Estimate
	if e.DecodeSamples == 0 && e.PrefillSamples == 0 && e.Updated.IsZero() {
		return
	}
	st.LearnedProfile = learning.ToStatus(e, lv.Prior)
}

// learn feeds the group's estimators the windows of the last refresh and
// returns what they know (nil when learning is off).
func (r *GroupReconciler) learn(ctx context.Context, snap *modelgroup.Snapshot) learnedProfiles {
	if r.profiles == nil {
		return nil
	}
	var pods map[string]estimator.Window
	var start, end time.Time
	if r.podWindows != nil {
		pods, start, end = r.podWindows.PodWindows(snap.Key)
	}
	learned, err := learnGroup(r.profiles, snap.Members, pods, start, end)
	if err != nil {
		// Bad windows or a status that cannot be resumed from: what could
		// be learned is, the rest is reported here and nowhere else.
		log.FromContext(ctx).Info("Learning the profiles", "problem", err.Error())
	}
	return learned
}

// forgetProfiles drops the estimators of the VAs the group no longer has.
func (r *GroupReconciler) forgetProfiles(key modelgroup.Key, previous, current *groupRecord) {
	if r.profiles != nil {
		forgetLearned(r.profiles, key.Namespace, previous, current)
	}
}

// podWindowsOf is the load source's per-pod windows, when it has them.
func podWindowsOf(load modelgroup.LoadSource) PodWindowSource {
	if p, ok := load.(PodWindowSource); ok {
		return p
	}
	return nil
}
