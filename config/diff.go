package config

import (
	"sort"
)

// Change says which model groups a configuration change affects, in terms
// the controller turns into field-index lookups (no listing of all VAs).
// Slices are sorted and free of duplicates.
type Change struct {
	// Accelerators whose accelerator-unit-costs entry was added, removed or
	// changed (cost or device): enqueue the groups with a VA of that accelerator.
	Accelerators []string
	// Models whose SLO or scale-to-zero policy changed: enqueue the group of
	// each (Namespace "" = the model in every namespace). A ref with a
	// namespace is dropped when the same model without namespace is listed.
	Models []ModelRef
	// ServiceClasses whose definition changed (added, removed, priority or
	// any entry): enqueue the groups with a VA naming it in spec.serviceClass.
	ServiceClasses []string
	// AllGroups is set when a setting every group depends on changed:
	// STABILIZATION_WINDOW, COST_SAVING_THRESHOLD, MAX_REPLICAS_PER_VARIANT,
	// SCALE_UP_*, the load-jump check, BACKLOG_DRAIN_TIME, or the effective
	// default scale-to-zero policy. Enqueue every group. The three lists
	// above are then empty, since they are covered.
	AllGroups bool
	// Timers is set when a setting of the periodic loops changed
	// (GLOBAL_OPT_INTERVAL, GLOBAL_PASS_INTERVAL, LOAD_CHANGE_TOLERANCE), or a
	// CAPACITY_* setting (the global pass arbitrates again at once): the
	// loops pick the new values up; no group is enqueued for it.
	Timers bool
	// Prometheus is set when a PROMETHEUS_* setting changed: rebuild the
	// load source; no group is enqueued for it.
	Prometheus bool
}

// Empty reports whether nothing needs to be done.
func (c Change) Empty() bool {
	return len(c.Accelerators) == 0 && len(c.Models) == 0 && len(c.ServiceClasses) == 0 &&
		!c.AllGroups && !c.Timers && !c.Prometheus
}

// normalize sorts and de-duplicates the slices, leaves nil for empty ones,
// drops namespaced refs covered by a namespace-less one, and clears the lists
// when AllGroups covers them.
func (c *Change) normalize() {
	if c.AllGroups {
		c.Accelerators, c.Models, c.ServiceClasses = nil, nil, nil
		return
	}
	c.Accelerators = sortedUnique(c.Accelerators)
	c.ServiceClasses = sortedUnique(c.ServiceClasses)
	anyNS := map[string]bool{}
	for _, r := range c.Models {
		if r.Namespace == "" {
			anyNS[r.ModelID] = true
		}
	}
	seen := map[ModelRef]bool{}
	var models []ModelRef
	for _, r := range c.Models {
		if seen[r] || (r.Namespace != "" && anyNS[r.ModelID]) {
			continue
		}
		seen[r] = true
		models = append(models, r)
	}
	sortModelRefs(models)
	c.Models = models
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, s := range in {
		set[s] = true
	}
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Diff says which groups are affected when the configuration in force goes
// from prev to next. A nil prev (nothing was in force) affects everything.
func Diff(prev, next *Config) Change {
	switch {
	case prev == nil && next == nil:
		return Change{}
	case prev == nil || next == nil:
		return Change{AllGroups: true, Timers: true, Prometheus: true}
	}
	var c Change

	// Operator settings.
	o, n := prev.Operator, next.Operator
	if o.OptInterval != n.OptInterval || o.PassInterval != n.PassInterval || o.LoadChangeTolerance != n.LoadChangeTolerance ||
		o.Capacity != n.Capacity {
		c.Timers = true
	}
	if o.Prometheus != n.Prometheus || o.Gateway != n.Gateway {
		c.Prometheus = true
	}
	if o.StabilizationWindow != n.StabilizationWindow || o.CostSavingThreshold != n.CostSavingThreshold ||
		o.MaxReplicasPerVariant != n.MaxReplicasPerVariant || o.ScaleUp != n.ScaleUp || o.LoadJump != n.LoadJump ||
		o.BacklogDrainTime != n.BacklogDrainTime {
		c.AllGroups = true
	}

	// Unit costs.
	for acc, oc := range prev.UnitCosts {
		if nc, ok := next.UnitCosts[acc]; !ok || nc != oc {
			c.Accelerators = append(c.Accelerators, acc)
		}
	}
	for acc := range next.UnitCosts {
		if _, ok := prev.UnitCosts[acc]; !ok {
			c.Accelerators = append(c.Accelerators, acc)
		}
	}

	diffServiceClasses(&c, prev.ServiceClasses, next.ServiceClasses)
	diffScaleToZero(&c, prev, next)

	c.normalize()
	return c
}

// diffServiceClasses compares classes by name (ConfigMap key names do not
// matter). A class added, removed or with a new priority affects all its
// models; otherwise each added, removed or changed entry affects its model.
func diffServiceClasses(c *Change, prev, next ServiceClasses) {
	names := map[string]bool{}
	for name := range prev.Classes {
		names[name] = true
	}
	for name := range next.Classes {
		names[name] = true
	}
	for name := range names {
		oc, inOld := prev.Classes[name]
		nc, inNew := next.Classes[name]
		changed := false
		if !inOld || !inNew || oc.Priority != nc.Priority {
			for ref := range oc.SLOs {
				c.Models = append(c.Models, ref)
			}
			for ref := range nc.SLOs {
				c.Models = append(c.Models, ref)
			}
			changed = true
		} else {
			for ref, slo := range oc.SLOs {
				if nslo, ok := nc.SLOs[ref]; !ok || nslo != slo {
					c.Models = append(c.Models, ref)
					changed = true
				}
			}
			for ref := range nc.SLOs {
				if _, ok := oc.SLOs[ref]; !ok {
					c.Models = append(c.Models, ref)
					changed = true
				}
			}
		}
		if changed {
			c.ServiceClasses = append(c.ServiceClasses, name)
		}
	}
}

// diffScaleToZero compares effective (resolved) policies, so that an edit
// that changes no model's policy gives no change.
func diffScaleToZero(c *Change, prev, next *Config) {
	// The default policy (__defaults__ over the operator fallback) touches
	// every group without a complete entry of its own. Being exact would need
	// the list of all groups; AllGroups is acceptable because such changes are
	// rare.
	oldDefault := prev.ScaleToZero.Defaults.apply(prev.Operator.ScaleToZeroDefault)
	newDefault := next.ScaleToZero.Defaults.apply(next.Operator.ScaleToZeroDefault)
	if oldDefault != newDefault {
		c.AllGroups = true
		return
	}
	if c.AllGroups {
		return // every group is enqueued anyway (normalize clears the lists)
	}
	// Per model: the namespace-less entry decides for every namespace
	// without an entry of its own; namespaced entries decide for theirs.
	namespaces := map[string]map[string]bool{} // model → namespaces with an entry
	for _, models := range []map[ModelRef]ScaleToZeroOverride{prev.ScaleToZero.Models, next.ScaleToZero.Models} {
		for ref := range models {
			if namespaces[ref.ModelID] == nil {
				namespaces[ref.ModelID] = map[string]bool{}
			}
			if ref.Namespace != "" {
				namespaces[ref.ModelID][ref.Namespace] = true
			}
		}
	}
	for model, nss := range namespaces {
		if prev.ScaleToZeroFor("", model) != next.ScaleToZeroFor("", model) {
			c.Models = append(c.Models, ModelRef{ModelID: model})
			continue
		}
		for ns := range nss {
			if prev.ScaleToZeroFor(ns, model) != next.ScaleToZeroFor(ns, model) {
				c.Models = append(c.Models, ModelRef{Namespace: ns, ModelID: model})
			}
		}
	}
}
