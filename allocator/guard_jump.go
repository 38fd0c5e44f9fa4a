package allocator

import "time"

// MinJumpRate is the arrival rate, req/s, below which no jump is implausible:
// waking from idle to a few requests per second is ordinary.
const MinJumpRate = 1.0

// jumpVerdict is what checkLoadJump decided about a reading.
type jumpVerdict struct {
	// hold is set when the rate is implausible and not yet confirmed.
	hold bool
	// state carries Rate, RateKnown and JumpSince forward.
	rate      float64
	rateKnown bool
	since     time.Time
	// until is when the jump counts as confirmed (with hold).
	until time.Time
}

// checkLoadJump applies the plausibility check to an available reading: a rate
// above Factor·max(last accepted rate, MinJumpRate) is held until the jump
// persisted for Confirmation, then accepted. A counter glitch in Prometheus
// (a reset read as a huge rate) lasts one reading and moves nothing. Without
// a last accepted rate (a fresh start) any rate is accepted; the ceiling and
// the scale-up limit still bound what it can do.
func checkLoadJump(st State, rate float64, p LoadJumpPolicy, now time.Time) jumpVerdict {
	accept := jumpVerdict{rate: rate, rateKnown: true}
	if p.Factor <= 0 || !st.RateKnown || rate <= p.Factor*max(st.Rate, MinJumpRate) {
		return accept
	}
	since := st.JumpSince
	if since.IsZero() {
		since = now
	}
	if until := since.Add(p.Confirmation); now.Before(until) {
		return jumpVerdict{hold: true, rate: st.Rate, rateKnown: true, since: since, until: until}
	}
	return accept
}
