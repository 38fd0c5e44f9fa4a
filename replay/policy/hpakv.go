package policy

// KVTarget is the HPA's target for the average KV-cache utilisation.
const KVTarget = 0.8

// HPAKV scales one variant per model with an HPA on the pods' KV-cache
// utilisation (vllm:kv_cache_usage_perc) at an 80% average target, with
// the HPA defaults and minReplicas 1. Pods that are not ready export no
// metric: on a scale-up they count as 0% (the HPA's rule for missing pod
// metrics), on a scale-down as 100% of the target.
type HPAKV struct {
	hpas map[string]*hpa
}

// Name implements Policy.
func (h *HPAKV) Name() string { return "hpa-kv" }

// Act runs one HPA sync for each model.
func (h *HPAKV) Act(now float64, env *Env) error {
	if h.hpas == nil {
		h.hpas = map[string]*hpa{}
	}
	for _, m := range env.Models {
		a := h.hpas[m.Name]
		if a == nil {
			a = &hpa{min: 1}
			h.hpas[m.Name] = a
		}
		current := env.Sim.Variant(m.Single).Desired()
		vs := env.Scraper.Variant(m.Single)
		desired := current
		if len(vs.KV) > 0 {
			sum := 0.0
			for _, u := range vs.KV {
				sum += u
			}
			ready := len(vs.KV)
			missing := max(current-ready, 0)
			ratio := sum / float64(ready) / KVTarget
			if missing == 0 {
				desired = ratioDesired(ratio, ready)
			} else {
				up := ratio > 1
				var r2 float64
				if up {
					r2 = sum / float64(ready+missing) / KVTarget
				} else {
					r2 = (sum + float64(missing)*KVTarget) / float64(ready+missing) / KVTarget
				}
				if up == (r2 > 1) {
					desired = ratioDesired(r2, ready+missing)
				}
			}
		}
		if err := env.Sim.Scale(m.Single, a.normalize(now, current, max(desired, 1))); err != nil {
			return err
		}
	}
	return nil
}

// SingleVariant marks the policy as scaling one variant per model.
func (h *HPAKV) SingleVariant() {}
