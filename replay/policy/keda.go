package policy

// KEDA defaults: the scaler is polled every 30 s for activation (0 ↔ 1);
// a deactivated workload goes to zero after the 300 s cooldown; between 1
// and the maximum the HPA it creates decides, with the HPA defaults.
const (
	kedaPolling  = 30_000.0
	kedaCooldown = 300_000.0
	// QueuePerReplica is the target of the queue policy: requests running
	// or waiting per replica.
	QueuePerReplica = 16.0
)

// KEDAQueue scales one variant per model on the requests in the system:
// replicas = ceil((running + waiting) / 16), where waiting includes the
// requests held at the gateway (llm-d's recommended path).
type KEDAQueue struct {
	hpas       map[string]*hpa
	lastActive map[string]float64
	lastPoll   map[string]float64
}

// Name implements Policy.
func (k *KEDAQueue) Name() string { return "keda-queue" }

// Act runs the KEDA activation logic and the HPA for each model.
func (k *KEDAQueue) Act(now float64, env *Env) error {
	if k.hpas == nil {
		k.hpas, k.lastActive, k.lastPoll = map[string]*hpa{}, map[string]float64{}, map[string]float64{}
	}
	for _, m := range env.Models {
		h := k.hpas[m.Name]
		if h == nil {
			h = &hpa{min: 1}
			k.hpas[m.Name] = h
		}
		v := env.Sim.Variant(m.Single)
		current := v.Desired()
		ms, ok := env.Scraper.Latest(m.Name)
		if !ok {
			continue
		}
		vs := env.Scraper.Variant(m.Single)
		metric := float64(vs.Running + vs.Waiting + ms.Gateway)
		if metric > 0 {
			k.lastActive[m.Name] = now
		}
		if current == 0 {
			if last, polled := k.lastPoll[m.Name]; polled && now < last+kedaPolling-1e-6 {
				continue
			}
			k.lastPoll[m.Name] = now
			if metric > 0 {
				if err := env.Sim.Scale(m.Single, 1); err != nil {
					return err
				}
			}
			continue
		}
		if metric == 0 && now-k.lastActive[m.Name] >= kedaCooldown {
			h.recs = nil
			if err := env.Sim.Scale(m.Single, 0); err != nil {
				return err
			}
			continue
		}
		// AverageValue target: ratio = (metric/current)/target.
		ratio := metric / float64(current) / QueuePerReplica
		desired := ratioDesired(ratio, current)
		if err := env.Sim.Scale(m.Single, h.normalize(now, current, desired)); err != nil {
			return err
		}
	}
	return nil
}

// SingleVariant marks the policy as scaling one variant per model.
func (k *KEDAQueue) SingleVariant() {}
