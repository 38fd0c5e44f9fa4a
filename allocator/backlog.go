package allocator

import (
	"math"
	"time"
)

// BacklogRate is the rate that serves waiting requests within drain, req/s:
// 0 when drain is off (≤ 0) or the count is not a positive finite number.
// The plan (withBacklog), the load source's change detection and the
// planner's report all use it, so that they agree on the demand.
func BacklogRate(waiting float64, drain time.Duration) float64 {
	if drain <= 0 || !(waiting > 0) || math.IsInf(waiting, 0) {
		return 0
	}
	return waiting / drain.Seconds()
}

// withBacklog is the load a plan sizes for: the arrival rate plus
// BacklogRate. Only a load whose request shape is known gets the term
// (without it no capacity is known to size with); the total stays within
// MaxRateLimit so that a wild queue reading is bounded by the scale-up limit
// rather than refused.
func withBacklog(l Load, drain time.Duration) Load {
	if !l.Available || !l.tokensKnown() {
		return l
	}
	if b := BacklogRate(l.Waiting, drain); b > 0 {
		l.Rate = math.Min(l.Rate+b, MaxRateLimit)
	}
	return l
}
