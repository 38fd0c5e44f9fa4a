package experiment

import (
	"maps"
	"math"
	"slices"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/policy"
	"github.com/llm-d/variant-autoscaler/replay/sim"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// SlotLength is the hindsight policy's decision period (ms).
const SlotLength = 5 * 60_000.0

// HindsightName names the hindsight bound in results.
const HindsightName = "hindsight"

// slotTarget is the share of a slot's requests that must meet the SLO.
const slotTarget = 0.99

// capacityFactors are the multiples of a slot's measured arrival rate the
// hindsight search sizes for: the cost-optimal mix for each is a candidate.
var capacityFactors = func() []float64 {
	var fs []float64
	for f := 0.3; f <= 3.0+1e-9; f += 0.05 {
		fs = append(fs, f)
	}
	return fs
}()

// Hindsight computes the hindsight bound of a scenario: for every 5-minute
// slot and model, knowing the requests that actually came, the cheapest
// allocation under which the slot's requests meet the SLO (99% within
// it), with replicas ready at the start of the slot (no start-up delay, no
// draining). The candidates are the allocator's cost-optimal mixes for the
// slot's rate times 0.3, 0.35, …, 3 (so capacities come from the queueing
// model, the slot's SLO check from the simulator); each slot is simulated
// on its own, from empty replicas.
func Hindsight(sc Scenario, arrivals []workload.Arrival) (Result, error) {
	rec := newRecorder(sc.Models)
	cache := allocator.NewCapacityCache(allocator.DefaultCacheSize)
	res := Result{Policy: HindsightName, Trace: sc.Trace.Name, Conserved: true}
	end := sc.Trace.Duration * 1000
	nSlots := int(math.Ceil(end / SlotLength))
	for mi, ml := range sc.Trace.Models {
		m := modelByName(sc.Models, ml.Model)
		mr := rec.models[m.Name]
		var mine []workload.Arrival
		for _, a := range arrivals {
			if int(a.Model) == mi {
				mine = append(mine, a)
			}
		}
		prevK := 0
		var prev map[string]int
		j := 0
		for slot := range nSlots {
			from := float64(slot) * SlotLength
			to := math.Min(from+SlotLength, end)
			k := j
			for k < len(mine) && mine[k].T < to {
				k++
			}
			reqs := mine[j:k]
			j = k
			alloc := map[string]int{}
			var done []*sim.Request
			if len(reqs) > 0 {
				cands, err := candidates(m, reqs, (to-from)/1000, cache)
				if err != nil {
					return Result{}, err
				}
				// Search from the previous slot's candidate index: adjacent
				// slots need similar capacity, so few simulations are run.
				try := func(i int) (bool, []*sim.Request, error) {
					d, err := simulateSlot(m, cands[i], reqs, from)
					if err != nil {
						return false, nil, err
					}
					return attained(m.SLO, d) >= slotTarget, d, nil
				}
				i := min(prevK, len(cands)-1)
				ok, d, err := try(i)
				if err != nil {
					return Result{}, err
				}
				if ok {
					for i > 0 {
						ok2, d2, err := try(i - 1)
						if err != nil {
							return Result{}, err
						}
						if !ok2 {
							break
						}
						i, d = i-1, d2
					}
				} else {
					for !ok && i < len(cands)-1 {
						i++
						if ok, d, err = try(i); err != nil {
							return Result{}, err
						}
					}
				}
				prevK = i
				alloc, done = cands[i], d
			}
			for _, q := range done {
				rec.finished(q)
			}
			mr.Requests += int64(len(reqs))
			for range len(reqs) - len(done) {
				mr.Unfinished++
			}
			res.Cost += (to - from) / 3.6e6 * allocCost(m, alloc)
			if prev != nil && !maps.Equal(prev, alloc) {
				res.ScaleActions++
			}
			prev = alloc
			for t := from; t < to; t += sampleEvery {
				pt := Point{T: t / 1000, Replicas: maps.Clone(alloc)}
				n := 0
				for _, a := range reqs {
					if a.T >= t && a.T < t+sampleEvery {
						n++
					}
				}
				pt.Load = float64(n) / (sampleEvery / 1000)
				mr.Timeline = append(mr.Timeline, pt)
			}
		}
	}
	rec.finish(&res, sc.Models)
	return res, nil
}

func modelByName(ms []policy.Model, name string) policy.Model {
	for _, m := range ms {
		if m.Name == name {
			return m
		}
	}
	return policy.Model{}
}

func allocCost(m policy.Model, alloc map[string]int) float64 {
	c := 0.0
	for _, v := range m.Variants {
		c += float64(alloc[v.Name]) * v.CostPerHour
	}
	return c
}

// candidates returns the distinct cost-optimal allocations for the slot's
// rate times each capacity factor, in order of cost.
func candidates(m policy.Model, reqs []workload.Arrival, seconds float64, cache *allocator.CapacityCache) ([]map[string]int, error) {
	var in, out float64
	for _, a := range reqs {
		in += float64(a.In)
		out += float64(a.Out)
	}
	n := float64(len(reqs))
	rate := n / seconds
	var cands []map[string]int
	for _, f := range capacityFactors {
		alloc, err := optimum(m, f*rate, in/n, math.Max(out/n, 1), cache)
		if err != nil {
			return nil, err
		}
		if len(cands) == 0 || !maps.Equal(cands[len(cands)-1], alloc) {
			cands = append(cands, alloc)
		}
	}
	slices.SortStableFunc(cands, func(a, b map[string]int) int {
		ca, cb := allocCost(m, a), allocCost(m, b)
		switch {
		case ca < cb:
			return -1
		case ca > cb:
			return 1
		}
		return 0
	})
	return cands, nil
}

// simulateSlot runs a slot's requests on ready replicas and returns the
// finished requests (all of them: the run continues past the slot).
func simulateSlot(m policy.Model, alloc map[string]int, reqs []workload.Arrival, from float64) ([]*sim.Request, error) {
	var done []*sim.Request
	s, err := sim.New(sim.Config{Variants: m.Variants, StartupDelay: -1, OnFinish: func(r *sim.Request) { done = append(done, r) }})
	if err != nil {
		return nil, err
	}
	for _, v := range m.Variants {
		if err := s.AddReady(v.Name, alloc[v.Name]); err != nil {
			return nil, err
		}
	}
	for i, a := range reqs {
		s.RunUntil(a.T - from)
		if err := s.Arrive(&sim.Request{ID: i, Model: m.Name, In: int(a.In), Out: int(a.Out)}); err != nil {
			return nil, err
		}
	}
	for s.Pending() {
		s.RunUntil(s.Now() + 3600_000)
	}
	return done, nil
}

func attained(slo allocator.SLO, done []*sim.Request) float64 {
	if len(done) == 0 {
		return 1
	}
	met := 0
	for _, r := range done {
		if r.TTFT() <= slo.TTFT && r.MeanITL() <= slo.ITL {
			met++
		}
	}
	return float64(met) / float64(len(done))
}
