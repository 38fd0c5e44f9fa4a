package learning

import (
	"fmt"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

// Tracker holds one estimator per VariantAutoscaling, in memory only: on
// first sight of a VA (a start or restart of the operator) it resumes from
// status.learnedProfile, so the status is the only persistent state. Safe
// for concurrent use.
type Tracker struct {
	cfg estimator.Config

	mu   sync.Mutex
	byVA map[types.NamespacedName]*tracked
}

type tracked struct {
	est   *estimator.Estimator
	prior estimator.Prior
	// fedUntil is the end of the last window fed: a window is fed once,
	// however often the VA is reconciled.
	fedUntil time.Time
	// resumed is set while fedUntil comes from the status (a restart): the
	// first window read since then may begin before it.
	resumed bool
}

// NewTracker returns an empty tracker whose estimators use cfg.
func NewTracker(cfg estimator.Config) *Tracker {
	return &Tracker{cfg: cfg, byVA: map[types.NamespacedName]*tracked{}}
}

// PriorFor is the prior of a VA: its spec profile when it has one, else the
// weak default of its accelerator.
func PriorFor(va *llmdv1alpha1.VariantAutoscaling) (estimator.Prior, error) {
	if va.Spec.Profile.IsZero() {
		return estimator.DefaultPrior(va.Spec.Accelerator), nil
	}
	p, err := va.Spec.Profile.Parse()
	if err != nil {
		return estimator.Prior{}, err
	}
	return estimator.SpecPrior(estimator.Params{Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta})
}

// entry returns the VA's estimator, resuming it from the status on first
// sight and restarting it at the new prior when the spec profile changed.
// A status that cannot be resumed from is reported (restored false) and
// learning starts over from the prior. A new estimator is kept only when
// keep is set (Observe): a VA that has never been fed, most of them at
// scale, costs no memory between reconciles.
func (t *Tracker) entry(va *llmdv1alpha1.VariantAutoscaling, keep bool) (*tracked, error) {
	prior, err := PriorFor(va)
	if err != nil {
		return nil, fmt.Errorf("the prior of %s/%s: %w", va.Namespace, va.Name, err)
	}
	key := types.NamespacedName{Namespace: va.Namespace, Name: va.Name}
	if e := t.byVA[key]; e != nil && e.prior == prior {
		return e, nil
	}
	var est *estimator.Estimator
	var resumeErr error
	if lp := va.Status.LearnedProfile; lp != nil && t.byVA[key] == nil && lp.Prior == prior.Source {
		s, err := FromStatus(lp)
		if err == nil {
			est, err = estimator.Restore(prior, t.cfg, s)
		}
		resumeErr = err
	}
	if est == nil {
		if est, err = estimator.New(prior, t.cfg); err != nil {
			return nil, err
		}
	}
	e := &tracked{est: est, prior: prior}
	if lp := va.Status.LearnedProfile; est != nil && resumeErr == nil && lp != nil && lp.LastUpdateTime != nil && lp.Prior == prior.Source {
		e.fedUntil, e.resumed = lp.LastUpdateTime.Time, true
	}
	if keep || resumeErr != nil { // a status that cannot be resumed from is reported once
		t.byVA[key] = e
	}
	if resumeErr != nil {
		return e, fmt.Errorf("status.learnedProfile of %s/%s cannot be resumed from, learning starts over: %w", va.Namespace, va.Name, resumeErr)
	}
	return e, nil
}

// Observe feeds the windows of the VA's pods from start to end (one per
// pod), once: windows ending at or before the last end fed are ignored.
// After a restart, the first windows are also ignored when they begin
// before the last update the status holds: part of them is already in the
// estimate, and counting it twice would make the estimate surer than its
// data. maxBatch caps the batch size (spec.profile.maxBatchSize; 0
// unknown). It returns the observations taken; bad windows are skipped and
// reported together, the others still count.
func (t *Tracker) Observe(va *llmdv1alpha1.VariantAutoscaling, start, end time.Time, windows []estimator.Window, maxBatch int) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.entry(va, true)
	if e == nil {
		return 0, err
	}
	if !end.After(e.fedUntil) {
		return 0, err
	}
	overlaps := e.resumed && start.Before(e.fedUntil)
	e.fedUntil, e.resumed = end, false
	if overlaps {
		return 0, err
	}
	fed := 0
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, w := range windows {
		obs, ok, werr := estimator.FromWindow(w, maxBatch)
		if werr == nil && ok {
			_, werr = e.est.Update(end, obs)
			if werr == nil {
				fed++
			}
		}
		if werr != nil {
			errs = append(errs, werr)
		}
	}
	if len(errs) > 0 {
		return fed, fmt.Errorf("learning the profile of %s/%s: %v", va.Namespace, va.Name, errs)
	}
	return fed, nil
}

// Estimate is the VA's current estimate and the prior it started from.
func (t *Tracker) Estimate(va *llmdv1alpha1.VariantAutoscaling) (estimator.Estimate, estimator.Prior, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, err := t.entry(va, false)
	if e == nil {
		return estimator.Estimate{}, estimator.Prior{}, err
	}
	return e.est.Estimate(), e.prior, err
}

// Forget drops a VA that no longer exists.
func (t *Tracker) Forget(key types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byVA, key)
}
