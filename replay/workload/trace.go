package workload

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Arrival is one request of a trace: when it arrives (ms), for which model
// (index into Trace.Models) and its lengths. 16 bytes, so a day of
// requests stays small in memory.
type Arrival struct {
	T       float64
	Model   uint16
	In, Out uint32
}

// ModelLoad is the load of one model in a trace.
type ModelLoad struct {
	Model string
	// Rate is the arrival rate in req/s at time t (seconds from the start).
	Rate func(t float64) float64
	// MaxRate bounds Rate from above (the thinning envelope).
	MaxRate float64
	Shape   Shape
}

// Trace is a seeded workload: the same seed gives the same requests.
type Trace struct {
	Name string
	// Description says what the trace models, for the report.
	Description string
	// Duration in seconds.
	Duration float64
	Models   []ModelLoad
	Seed     uint64
}

// Generate draws the trace's requests in time order. Each model has its
// own random stream (seeded from the trace seed and its index), so adding
// a model does not change the others' requests.
func (t Trace) Generate() ([]Arrival, error) {
	if t.Duration <= 0 || len(t.Models) == 0 {
		return nil, errors.New("workload: a trace needs a positive duration and at least one model")
	}
	var all []Arrival
	for i, m := range t.Models {
		if !(m.MaxRate > 0) {
			return nil, fmt.Errorf("workload: model %q: MaxRate must be positive", m.Model)
		}
		rng := rand.New(rand.NewPCG(t.Seed, uint64(i)+1))
		// Thinning: candidates at MaxRate, each kept with Rate(t)/MaxRate.
		for s := rng.ExpFloat64() / m.MaxRate; s < t.Duration; s += rng.ExpFloat64() / m.MaxRate {
			r := m.Rate(s)
			if r > m.MaxRate*(1+1e-9) {
				return nil, fmt.Errorf("workload: model %q: rate %.3g at %.0f s is above MaxRate %.3g", m.Model, r, s, m.MaxRate)
			}
			if rng.Float64()*m.MaxRate >= r {
				continue
			}
			all = append(all, Arrival{
				T: s * 1000, Model: uint16(i),
				In: uint32(m.Shape.In.Sample(rng)), Out: uint32(max(m.Shape.Out.Sample(rng), 1)),
			})
		}
	}
	slices.SortStableFunc(all, func(a, b Arrival) int { return cmp.Compare(a.T, b.T) })
	return all, nil
}

// Diurnal is a day-shaped rate: trough at the hour troughHour, peak twelve
// hours later, peak/trough = ratio, as a raised cosine.
func Diurnal(trough, ratio, troughHour float64) func(t float64) float64 {
	return func(t float64) float64 {
		phase := 2 * math.Pi * (t/3600 - troughHour) / 24
		return trough * (1 + (ratio-1)*(1-math.Cos(phase))/2)
	}
}

// Burst is a period of multiplied load.
type Burst struct {
	Start, Length, Factor float64 // seconds, seconds, multiplier
}

// WithBursts multiplies base by each burst's factor while it lasts.
func WithBursts(base func(float64) float64, bursts []Burst) func(float64) float64 {
	return func(t float64) float64 {
		r := base(t)
		for _, b := range bursts {
			if t >= b.Start && t < b.Start+b.Length {
				r *= b.Factor
			}
		}
		return r
	}
}

// RandomBursts places n bursts of the given length and factor at seeded
// random, non-overlapping times within [from, to) seconds.
func RandomBursts(seed uint64, n int, from, to, length, factor float64) []Burst {
	rng := rand.New(rand.NewPCG(seed, 0xb025))
	var out []Burst
	for len(out) < n {
		s := from + rng.Float64()*(to-from-length)
		overlaps := slices.ContainsFunc(out, func(b Burst) bool { return math.Abs(b.Start-s) < 2*length })
		if !overlaps {
			out = append(out, Burst{Start: math.Round(s), Length: length, Factor: factor})
		}
	}
	slices.SortFunc(out, func(a, b Burst) int { return cmp.Compare(a.Start, b.Start) })
	return out
}

// FlashCrowd is zero until start, rises linearly to peak over rise
// seconds, holds for hold seconds, falls linearly to zero over fall
// seconds and stays at zero.
func FlashCrowd(start, rise, hold, fall, peak float64) func(float64) float64 {
	return func(t float64) float64 {
		switch {
		case t < start:
			return 0
		case t < start+rise:
			return peak * (t - start) / rise
		case t < start+rise+hold:
			return peak
		case t < start+rise+hold+fall:
			return peak * (1 - (t-start-rise-hold)/fall)
		}
		return 0
	}
}
