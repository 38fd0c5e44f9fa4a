package controller

import (
	"fmt"
	"time"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// ConfigHealth says whether a ConfigMap exists but has been invalid since the
// manager started (the ConfigWatcher implements it).
type ConfigHealth interface {
	InvalidSinceStart() error
}

// markLoaded records that a version of the ConfigMap was applied.
func (w *ConfigWatcher) markLoaded(name string) {
	w.loadedMu.Lock()
	defer w.loadedMu.Unlock()
	if w.loaded == nil {
		w.loaded = map[string]bool{}
	}
	w.loaded[name] = true
}

// InvalidSinceStart returns why the first ConfigMap that exists but has not
// validated since the manager started is invalid (nil when there is none).
// Every group depends on all four ConfigMaps (costs, SLOs, the scale-to-zero
// policy and the operator settings), so such a ConfigMap holds every group:
// planning with its defaults instead could undo what it says (a per-model
// scale-to-zero opt-out, say). A ConfigMap that turns invalid later keeps
// its last good version in force and holds nothing.
func (w *ConfigWatcher) InvalidSinceStart() error {
	w.loadedMu.Lock()
	defer w.loadedMu.Unlock()
	for _, name := range config.Names() {
		if err := w.Store.LastError(name); err != nil && !w.loaded[name] {
			return fmt.Errorf("ConfigMap %s exists but is invalid, and no valid version of it was loaded since the manager started; "+
				"the groups are held with their replicas until it is fixed: %w", name, err)
		}
	}
	return nil
}

func invalidSinceStart(h ConfigHealth) error {
	if h == nil {
		return nil
	}
	return h.InvalidSinceStart()
}

// holdForInvalidConfig is the plan of a group while a ConfigMap it depends on
// is invalid since the start: conditions say why, nothing is decided or
// actuated, and the policy state is kept.
func holdForInvalidConfig(snap *modelgroup.Snapshot, previous *groupRecord, cause error, now time.Time) groupPlan {
	plan := groupPlan{State: previous.State, ScaleToZero: previous.ScaleToZero}
	for i := range snap.Members {
		m := &snap.Members[i]
		vp := variantPlan{Member: m, Status: *m.VA.Status.DeepCopy()}
		vp.Status.ObservedGeneration = m.VA.Generation
		vp.Status.CurrentReplicas = m.Target.StatusReplicas
		setTargetResolvedCondition(&vp.Status, m, now)
		setMetricsAvailableCondition(&vp.Status, m.VA.Generation, snap.Load, now)
		setOptimizedCondition(&vp.Status, m.VA.Generation, false, llmdv1alpha1.ConditionReasonConfigInvalid, cause.Error(), now)
		plan.Variants = append(plan.Variants, vp)
	}
	return plan
}
