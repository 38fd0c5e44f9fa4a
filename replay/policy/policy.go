// Package policy holds the autoscaling policies the replay compares. Each
// one reads only what a real cluster exports (the scraped, windowed
// metrics) and sets replica counts on the simulated cluster at the cadence
// a real deployment would run at.
package policy

import (
	"time"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/scrape"
	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// Tick is the cadence at which every policy is called (ms): the scrape
// interval and the HPA's sync period, both 15 s. Policies that run slower
// (the operator at GLOBAL_OPT_INTERVAL) skip ticks.
const Tick = 15_000.0

// Model is one model of the simulated cluster as the policies see it.
type Model struct {
	Name string
	SLO  allocator.SLO
	// Variants in the order they are listed.
	Variants []sim.VariantSpec
	// ScaleToZero enables the operator's scale to zero (retention 10 min).
	ScaleToZero bool
	// Single is the variant that single-variant policies (KEDA, HPA) scale:
	// the one with the lowest cost per unit of capacity for the model's
	// mean request shape.
	Single string
}

// Env is what a policy acts on.
type Env struct {
	Sim     *sim.Sim
	Scraper *scrape.Scraper
	Models  []Model
}

// Policy decides replica counts.
type Policy interface {
	Name() string
	// Act is called every Tick with the simulated time (ms) after a scrape.
	Act(now float64, env *Env) error
}

// epoch anchors simulated milliseconds to the wall-clock times the
// allocator takes.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// At converts simulated ms to a time.
func At(ms float64) time.Time { return epoch.Add(time.Duration(ms * float64(time.Millisecond))) }

// FromTime converts a time back to simulated ms.
func FromTime(t time.Time) float64 { return float64(t.Sub(epoch)) / float64(time.Millisecond) }

// allocatorVariants builds the allocator's view of a model's variants with
// their current (spec) replicas.
func allocatorVariants(m Model, s *sim.Sim) []allocator.Variant {
	out := make([]allocator.Variant, len(m.Variants))
	for i, v := range m.Variants {
		out[i] = allocator.Variant{
			Name: v.Name, Cost: v.CostPerHour, Profile: v.Profile,
			Min: 0, Max: allocator.Unbounded, Current: s.Variant(v.Name).Desired(),
		}
	}
	return out
}
