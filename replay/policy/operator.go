package policy

import (
	"fmt"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// Operator is this project's operator: allocator.Plan, the function the
// controller calls (controller/plan.go), with the policy state carried
// from one plan to the next. A group is planned every Interval
// (GLOBAL_OPT_INTERVAL, when the load refresher re-reads Prometheus) and
// when the plan's NextEvaluation matures (the controller's RequeueAfter).
// Replicas are actuated directly (--actuation=scale).
type Operator struct {
	// Interval is GLOBAL_OPT_INTERVAL in ms (default 60 s).
	Interval float64
	// Window is the Prometheus rate window in ms (default 1 m).
	Window float64
	// Policy is the allocator policy; ScaleToZero is taken per model.
	Policy allocator.Policy
	// GatewayRate sizes from the arrival rate at the gateway instead of the
	// vLLM completion rate (what issue 11 adds); tokens still come from vLLM.
	GatewayRate bool
	// WakeFromZero adds the fast path issue 11 specifies: a model with no
	// replica and requests waiting at the gateway gets one replica of its
	// cheapest variant at once. Without it a model at zero has no metrics
	// and the plan holds zero.
	WakeFromZero bool
	// SLOScale, when in (0, 1), plans against the SLO times this factor: a
	// margin for the tail, since the model checks mean TTFT and ITL while
	// attainment counts requests (a what-if, not a product setting).
	SLOScale float64
	// Label overrides the name.
	Label string

	cache    *allocator.CapacityCache
	state    map[string]allocator.State
	lastPlan map[string]float64
	nextEval map[string]float64
}

// NewOperator returns the operator with the product's defaults.
func NewOperator() *Operator {
	return &Operator{Interval: 60_000, Window: 60_000, Policy: allocator.DefaultPolicy()}
}

// Name implements Policy.
func (o *Operator) Name() string {
	if o.Label != "" {
		return o.Label
	}
	return "operator"
}

// Act plans every model whose interval elapsed or whose time rule matured.
func (o *Operator) Act(now float64, env *Env) error {
	if o.state == nil {
		o.cache = allocator.NewCapacityCache(1024)
		o.state, o.lastPlan, o.nextEval = map[string]allocator.State{}, map[string]float64{}, map[string]float64{}
	}
	for _, m := range env.Models {
		if o.WakeFromZero {
			if err := wake(m, env); err != nil {
				return err
			}
		}
		last, planned := o.lastPlan[m.Name]
		due := !planned || now >= last+o.Interval-1e-6
		if ne := o.nextEval[m.Name]; ne > 0 && now >= ne {
			due = true
		}
		if !due {
			continue
		}
		if err := o.plan(now, m, env); err != nil {
			return err
		}
	}
	return nil
}

func (o *Operator) plan(now float64, m Model, env *Env) error {
	pol := o.Policy
	pol.ScaleToZero = m.ScaleToZero
	load := operatorLoad(m, env, o.Window, o.GatewayRate)
	if pol.ScaleToZero {
		load.RequestsInRetention = env.Scraper.Increase(m.Name, float64(pol.Retention.Milliseconds()))
	}
	slo := m.SLO
	if o.SLOScale > 0 && o.SLOScale < 1 {
		slo = allocator.SLO{TTFT: slo.TTFT * o.SLOScale, ITL: slo.ITL * o.SLOScale}
	}
	res, err := allocator.Plan(allocator.Input{
		Variants: allocatorVariants(m, env.Sim), SLO: slo, Load: load,
		Policy: pol, State: o.state[m.Name], Now: At(now),
	}, o.cache)
	if err != nil {
		return fmt.Errorf("operator: model %s: %w", m.Name, err)
	}
	o.state[m.Name] = res.State
	o.lastPlan[m.Name] = now
	o.nextEval[m.Name] = 0
	if !res.NextEvaluation.IsZero() {
		o.nextEval[m.Name] = FromTime(res.NextEvaluation)
	}
	for _, d := range res.Variants {
		if err := env.Sim.Scale(d.Name, d.Replicas); err != nil {
			return err
		}
	}
	return nil
}

// wake gives a model at zero with requests waiting at the gateway one
// replica of its cheapest variant.
func wake(m Model, env *Env) error {
	ms, ok := env.Scraper.Latest(m.Name)
	if !ok || ms.Gateway == 0 {
		return nil
	}
	cheapest := -1
	for i, v := range m.Variants {
		if env.Sim.Variant(v.Name).Desired() > 0 {
			return nil
		}
		if cheapest < 0 || v.CostPerHour < m.Variants[cheapest].CostPerHour {
			cheapest = i
		}
	}
	return env.Sim.Scale(m.Variants[cheapest].Name, 1)
}

// waiting is the number of requests of a model not yet in a batch, from
// the latest scrape: in the replicas' queues and, when the policy reads the
// gateway, in its queue.
func waiting(m Model, env *Env, gateway bool) int {
	n := 0
	if ms, ok := env.Scraper.Latest(m.Name); ok && gateway {
		n = ms.Gateway
	}
	for _, v := range m.Variants {
		n += env.Scraper.Variant(v.Name).Waiting
	}
	return n
}

// operatorLoad is the load the product's Prometheus source reads over the
// window (ms): the arrivals (completions plus the growth of the replicas'
// queues) and the requests waiting in the replicas' queues, and with the
// gateway its arrival rate and queue too. The plan drains what waits
// (Policy.BacklogDrain).
func operatorLoad(m Model, env *Env, window float64, gateway bool) allocator.Load {
	l := env.Scraper.Load(m.Name, window)
	load := allocator.Load{Available: l.Available, Rate: l.Arrivals(), AvgIn: l.AvgIn, AvgOut: l.AvgOut,
		Waiting: float64(waiting(m, env, gateway))}
	if gateway && l.Available {
		load.Rate = l.GatewayRate
	}
	if load.Available && load.Rate > 0 && load.AvgOut < 1 {
		// Requests arrive but none finished in the window: the token
		// averages are unknown, which the source reports as missing.
		load.Available = false
	}
	return load
}
