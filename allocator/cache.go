package allocator

import (
	"math"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is a capacity cache size that holds every (variant, SLO,
// request shape) of a large cluster for a while.
const DefaultCacheSize = 4096

// RoundTokens rounds a token average to three significant digits (0.5%
// relative at most). Measured averages jitter far more than that between two
// reads, and rounding lets an unchanged workload hit the capacity cache.
// Plan rounds the token averages with it before using them anywhere, so a
// plan does not depend on whether the cache was warm.
func RoundTokens(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return x
	}
	e := int(math.Floor(math.Log10(x)))
	// Scale by an exact power of ten (multiply or divide, never by a
	// fractional power) so that rounding twice changes nothing.
	if k := 2 - e; k < 0 {
		p := math.Pow10(-k)
		return math.Round(x/p) * p
	}
	p := math.Pow10(2 - e)
	return math.Round(x*p) / p
}

type capacityKey struct {
	p       Profile
	slo     SLO
	in, out float64
}

type capacityValue struct {
	capacity float64
	err      error
}

// CapacityCache remembers per-replica capacities so that a re-plan with
// unchanged inputs does not recompute them. It is safe for concurrent use.
// Its size is bounded with two generations: when the current map is full it
// becomes the old one and a new map starts; a hit in the old map moves the
// entry back. Entries used within the last two generations survive, which is
// LRU-like at the cost of two map lookups.
//
// A nil *CapacityCache is valid and computes every capacity.
type CapacityCache struct {
	mu       sync.Mutex
	limit    int
	cur, old map[capacityKey]capacityValue
	hits     atomic.Uint64
	misses   atomic.Uint64
}

// NewCapacityCache returns a cache holding up to about 2·size entries
// (size < 1 means DefaultCacheSize).
func NewCapacityCache(size int) *CapacityCache {
	if size < 1 {
		size = DefaultCacheSize
	}
	return &CapacityCache{limit: size, cur: make(map[capacityKey]capacityValue)}
}

// Capacity returns Capacity(p, slo, RoundTokens(avgIn), RoundTokens(avgOut)),
// from the cache when it was computed before. Errors (invalid input,
// *ErrInfeasible) are cached too.
func (c *CapacityCache) Capacity(p Profile, slo SLO, avgIn, avgOut float64) (float64, error) {
	avgIn, avgOut = RoundTokens(avgIn), RoundTokens(avgOut)
	if c == nil {
		return Capacity(p, slo, avgIn, avgOut)
	}
	key := capacityKey{p: p, slo: slo, in: avgIn, out: avgOut}
	if math.IsNaN(p.Alpha + p.Beta + p.Gamma + p.Delta + slo.TTFT + slo.ITL + avgIn + avgOut) {
		// Invalid anyway, and a key with NaN could never be found again.
		return Capacity(p, slo, avgIn, avgOut)
	}
	c.mu.Lock()
	v, ok := c.cur[key]
	if !ok {
		if v, ok = c.old[key]; ok {
			c.putLocked(key, v)
		}
	}
	c.mu.Unlock()
	if ok {
		c.hits.Add(1)
		return v.capacity, v.err
	}
	c.misses.Add(1)
	// Computed outside the lock: two planners may compute the same entry at
	// once, which costs time but never a wrong answer.
	capacity, err := Capacity(p, slo, avgIn, avgOut)
	c.mu.Lock()
	c.putLocked(key, capacityValue{capacity: capacity, err: err})
	c.mu.Unlock()
	return capacity, err
}

func (c *CapacityCache) putLocked(key capacityKey, v capacityValue) {
	if len(c.cur) >= c.limit {
		c.old = c.cur
		c.cur = make(map[capacityKey]capacityValue, c.limit)
	}
	c.cur[key] = v
}

// Len returns the number of cached entries.
func (c *CapacityCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.cur)
	for k := range c.old {
		if _, dup := c.cur[k]; !dup {
			n++
		}
	}
	return n
}

// Stats returns the number of lookups answered from the cache and computed.
func (c *CapacityCache) Stats() (hits, misses uint64) {
	if c == nil {
		return 0, 0
	}
	return c.hits.Load(), c.misses.Load()
}
