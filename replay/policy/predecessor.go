package policy

import (
	"fmt"
	"math"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// Predecessor is the previous design's global optimizer in its unlimited
// mode: every GLOBAL_OPT_INTERVAL it puts each model on one accelerator
// type, the variant that carries the whole load at the lowest cost, with
// ceil(load/capacity) replicas (at least one), and nothing on the others.
// It uses the same queueing model and capacities as the operator. Its
// output reached the workloads through an HPA on wva_desired_replicas
// (AverageValue 1), so the HPA's tolerance, scale-down stabilization and
// rate limits apply. Missing metrics hold the current replicas.
type Predecessor struct {
	// Interval and Window as for the operator (ms).
	Interval, Window float64
	// PerVariant sizes every variant for the whole load, as the previous
	// design did when a model had several VariantAutoscalings (each one
	// read the model's full rate): the double provisioning the design
	// notes (docs/model.md §3) describe.
	PerVariant bool

	cache    *allocator.CapacityCache
	hpas     map[string]*hpa
	want     map[string]int
	lastPlan map[string]float64
}

// NewPredecessor returns the predecessor at the default interval.
func NewPredecessor() *Predecessor { return &Predecessor{Interval: 60_000, Window: 60_000} }

// Name implements Policy.
func (p *Predecessor) Name() string {
	if p.PerVariant {
		return "predecessor-per-va"
	}
	return "predecessor"
}

// Act re-plans at the interval and runs the HPAs every tick.
func (p *Predecessor) Act(now float64, env *Env) error {
	if p.hpas == nil {
		p.cache = allocator.NewCapacityCache(1024)
		p.hpas, p.want, p.lastPlan = map[string]*hpa{}, map[string]int{}, map[string]float64{}
	}
	for _, m := range env.Models {
		if last, ok := p.lastPlan[m.Name]; !ok || now >= last+p.Interval-1e-6 {
			p.lastPlan[m.Name] = now
			if err := p.plan(m, env); err != nil {
				return err
			}
		}
		for _, v := range m.Variants {
			want, ok := p.want[v.Name]
			if !ok {
				continue // no plan yet: the HPA has no metric and holds
			}
			h := p.hpas[v.Name]
			if h == nil {
				h = &hpa{min: 0}
				p.hpas[v.Name] = h
			}
			current := env.Sim.Variant(v.Name).Desired()
			desired := want
			if current > 0 {
				desired = ratioDesired(float64(want)/float64(current), current)
			}
			if err := env.Sim.Scale(v.Name, h.normalize(now, current, desired)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *Predecessor) plan(m Model, env *Env) error {
	l := env.Scraper.Load(m.Name, p.Window)
	if !l.Available || (l.Rate > 0 && l.AvgOut < 1) {
		return nil // hold: the metric keeps its last value
	}
	best, bestCost, bestN := "", math.Inf(1), 0
	sized := map[string]int{}
	for _, v := range m.Variants {
		n := 1
		if l.Rate > 0 {
			c, err := p.cache.Capacity(v.Profile, m.SLO, allocator.RoundTokens(l.AvgIn), allocator.RoundTokens(l.AvgOut))
			if err != nil || c <= 0 {
				continue
			}
			n = max(int(math.Ceil(l.Rate/c-1e-9)), 1)
		}
		sized[v.Name] = n
		if cost := float64(n) * v.CostPerHour; cost < bestCost {
			best, bestCost, bestN = v.Name, cost, n
		}
	}
	if best == "" {
		return fmt.Errorf("predecessor: model %s: no variant can meet the SLO", m.Name)
	}
	for _, v := range m.Variants {
		p.want[v.Name] = 0
		if p.PerVariant {
			p.want[v.Name] = sized[v.Name]
		}
	}
	p.want[best] = bestN
	return nil
}
