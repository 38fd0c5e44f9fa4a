package emulator

import (
	"hash/fnv"
	"math"
	"strconv"
	"time"
)

// runningAt is what vllm:num_requests_running shows of a server whose mean
// number in service is ls: a whole number of requests, spread as Poisson
// arrivals spread them (variance ls). The estimator reads the batch a token
// sees as ls + variance/ls from the gauge's scrapes, and the emulator's
// physics serves at ls + 1 (servingAt). The draw is a hash of the server and
// the time, so that a run on a given clock is the same every time.
func runningAt(ls float64, server []string, now time.Time) float64 {
	if !(ls > 0) {
		return 0
	}
	h := fnv.New64a()
	for _, v := range server {
		_, _ = h.Write([]byte(v))
		_, _ = h.Write([]byte{0})
	}
	_, _ = h.Write([]byte(strconv.FormatInt(now.UnixNano(), 10)))
	u := (float64(h.Sum64()>>11) + 0.5) / (1 << 53) // in (0, 1)
	return poissonQuantile(ls, u)
}

// poissonQuantile is the smallest k with P(X ≤ k) ≥ u for X ~ Poisson(mean),
// by inversion; beyond a few hundred (where e^−mean underflows) the normal
// approximation.
func poissonQuantile(mean, u float64) float64 {
	if mean > 500 {
		return math.Max(0, math.Round(mean+math.Sqrt(mean)*math.Sqrt2*math.Erfinv(2*u-1)))
	}
	p := math.Exp(-mean)
	cdf := p
	k := 0.0
	for cdf < u && k < 10*mean+100 {
		k++
		p *= mean / k
		cdf += p
	}
	return k
}
