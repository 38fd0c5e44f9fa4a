package allocator

import (
	"math"
	"time"
)

// withBacklog is the load a plan sizes for: the arrival rate plus the rate
// that serves the requests waiting within drain. Only a load whose request
// shape is known gets the term (without it no capacity is known to size
// with); the total stays within MaxRateLimit so that a wild queue reading
// is bounded by the scale-up limit rather than refused.
func withBacklog(l Load, drain time.Duration) Load {
	if !l.Available || drain <= 0 || !(l.Waiting > 0) || math.IsInf(l.Waiting, 0) || !l.tokensKnown() {
		return l
	}
	l.Rate = math.Min(l.Rate+l.Waiting/drain.Seconds(), MaxRateLimit)
	return l
}
