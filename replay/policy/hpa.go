package policy

import "math"

// HPA defaults (Kubernetes autoscaling/v2): 10% tolerance; scale up at
// once by at most max(100%, 4 pods) per 15 s; scale down to the highest
// recommendation of the last 5 minutes, by up to 100% per 15 s.
const (
	hpaTolerance        = 0.1
	hpaDownWindow       = 300_000.0
	hpaUpPercentPerTick = 1.0
	hpaUpPodsPerTick    = 4
)

type recommendation struct {
	t float64
	n int
}

// hpa is the replica-count logic of one HorizontalPodAutoscaler with the
// default behaviour.
type hpa struct {
	min, max int
	recs     []recommendation
}

// ratioDesired is the HPA's core formula: ceil(ratio·current), with the
// tolerance band keeping the current count.
func ratioDesired(ratio float64, current int) int {
	if math.Abs(ratio-1) <= hpaTolerance {
		return current
	}
	return int(math.Ceil(ratio * float64(current)))
}

// normalize applies the stabilization window, the rate limits and the
// bounds to a raw recommendation, as the HPA controller does.
func (h *hpa) normalize(now float64, current, desired int) int {
	h.recs = append(h.recs, recommendation{t: now, n: desired})
	kept := h.recs[:0]
	down := desired
	for _, r := range h.recs {
		if r.t > now-hpaDownWindow {
			kept = append(kept, r)
			down = max(down, r.n)
		}
	}
	h.recs = kept
	out := current
	switch {
	case desired > current:
		out = desired // the scale-up window is 0: the newest recommendation
	case down < current:
		out = down
	}
	if out > current {
		limit := max(int(math.Ceil(float64(current)*(1+hpaUpPercentPerTick))), current+hpaUpPodsPerTick)
		out = min(out, limit)
	}
	out = max(out, h.min)
	if h.max > 0 {
		out = min(out, h.max)
	}
	return out
}
