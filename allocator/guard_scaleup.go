package allocator

import (
	"math"
	"time"
)

// limitScaleUp returns the most replicas a variant may be given now under the
// scale-up limit, the variant's new base history and the time the period's
// minimum expires, when the limit may rise.
//
// The base is the fewest replicas the variant ran within the last period,
// current included: the limit is max(base+MaxReplicas, base·(1+MaxPercent/100))
// rounded up, as the HPA's scaleUp policies with selectPolicy Max. Basing it
// on what ran, not on what was desired, means a workload that does not follow
// (Preview, an HPA that lags) is never pushed further than that. A disabled
// limit returns MaxReplicas and no history.
func limitScaleUp(hist []Recommendation, p ScaleUpPolicy, now time.Time, current int) (limit int, out []Recommendation, until time.Time) {
	if p.Period <= 0 || (p.MaxReplicas <= 0 && p.MaxPercent <= 0) {
		return MaxReplicas, nil, time.Time{}
	}
	cutoff := now.Add(-p.Period)
	out = make([]Recommendation, 0, len(hist)+1)
	for _, r := range hist {
		if r.Time.After(cutoff) {
			out = append(out, r)
		}
	}
	// Keep the entries that can still be the minimum: a newer entry at or
	// below an older one makes the older one irrelevant.
	for len(out) > 0 && out[len(out)-1].Replicas >= current {
		out = out[:len(out)-1]
	}
	out = append(out, Recommendation{Time: now, Replicas: current})
	base := out[0].Replicas
	byPercent := math.Ceil(float64(base) * (1 + float64(p.MaxPercent)/100))
	limit = int(math.Min(math.Max(float64(base+p.MaxReplicas), byPercent), MaxReplicas))
	return limit, out, out[0].Time.Add(p.Period)
}
