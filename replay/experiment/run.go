// Package experiment runs the replays of the decision-quality report:
// traces through the simulated cluster under each policy, the hindsight
// bound, the validation of the queueing model against the simulator, and
// the report with its plots.
package experiment

import (
	"fmt"
	"math"
	"slices"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/policy"
	"github.com/llm-d/variant-autoscaler/replay/scrape"
	"github.com/llm-d/variant-autoscaler/replay/sim"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// Timeline sampling for the plots (ms).
const sampleEvery = 60_000.0

// maxTail bounds the time the simulation runs past the end of a trace to
// let the requests in flight finish (ms).
const maxTail = 2 * 3600_000.0

// Point is one sample of the timeline of a model.
type Point struct {
	// T in seconds from the start.
	T float64 `json:"t"`
	// Load is the arrival rate over the last sample period, req/s.
	Load float64 `json:"load"`
	// Replicas is the number of replicas costing money (starting, ready or
	// draining) per variant.
	Replicas map[string]int `json:"replicas"`
}

// ModelResult holds the measures of one model in one run.
type ModelResult struct {
	Model      string  `json:"model"`
	Requests   int64   `json:"requests"`
	Met        int64   `json:"met"`
	Unfinished int64   `json:"unfinished"`
	ColdStart  int64   `json:"coldStart"`
	Attainment float64 `json:"attainment"`
	TTFTp50    float64 `json:"ttftP50Ms"`
	TTFTp99    float64 `json:"ttftP99Ms"`
	Timeline   []Point `json:"timeline,omitempty"`
	ttfts      []float32
}

// Result holds the measures of one policy on one trace.
type Result struct {
	Policy string `json:"policy"`
	Trace  string `json:"trace"`
	// Cost in USD over the trace's duration.
	Cost         float64       `json:"costUSD"`
	Requests     int64         `json:"requests"`
	Met          int64         `json:"met"`
	Unfinished   int64         `json:"unfinished"`
	ColdStart    int64         `json:"coldStart"`
	Attainment   float64       `json:"attainment"`
	TTFTp50      float64       `json:"ttftP50Ms"`
	TTFTp99      float64       `json:"ttftP99Ms"`
	ScaleActions int           `json:"scaleActions"`
	Models       []ModelResult `json:"models"`
	// Conserved is arrivals == finished + in flight at the end.
	Conserved bool `json:"conserved"`
}

// recorder collects the per-request measures of one run.
type recorder struct {
	slo    map[string]allocator.SLO
	models map[string]*ModelResult
}

func newRecorder(models []policy.Model) *recorder {
	r := &recorder{slo: map[string]allocator.SLO{}, models: map[string]*ModelResult{}}
	for _, m := range models {
		r.slo[m.Name] = m.SLO
		r.models[m.Name] = &ModelResult{Model: m.Name}
	}
	return r
}

func (r *recorder) finished(q *sim.Request) {
	m := r.models[q.Model]
	slo := r.slo[q.Model]
	ttft := q.TTFT()
	m.ttfts = append(m.ttfts, float32(ttft))
	if ttft <= slo.TTFT && q.MeanITL() <= slo.ITL {
		m.Met++
	}
}

// finish turns the counts into the result's measures.
func (r *recorder) finish(res *Result, order []policy.Model) {
	var all []float32
	for _, pm := range order {
		m := r.models[pm.Name]
		for range m.Unfinished {
			m.ttfts = append(m.ttfts, float32(math.Inf(1)))
		}
		m.Attainment = ratio(m.Met, m.Requests)
		m.TTFTp50, m.TTFTp99 = percentile(m.ttfts, 0.5), percentile(m.ttfts, 0.99)
		all = append(all, m.ttfts...)
		m.ttfts = nil
		res.Requests += m.Requests
		res.Met += m.Met
		res.Unfinished += m.Unfinished
		res.ColdStart += m.ColdStart
		res.Models = append(res.Models, *m)
	}
	res.Attainment = ratio(res.Met, res.Requests)
	res.TTFTp50, res.TTFTp99 = percentile(all, 0.5), percentile(all, 0.99)
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

// percentile sorts xs in place and returns the q-quantile (nearest rank).
func percentile(xs []float32, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	i := int(math.Ceil(q*float64(len(xs)))) - 1
	return float64(xs[min(max(i, 0), len(xs)-1)])
}

// Run replays a trace's arrivals through the simulated cluster driven by a
// policy.
func Run(sc Scenario, arrivals []workload.Arrival, p policy.Policy) (Result, error) {
	rec := newRecorder(sc.Models)
	var specs []sim.VariantSpec
	for _, m := range sc.Models {
		specs = append(specs, m.Variants...)
	}
	s, err := sim.New(sim.Config{Variants: specs, StartupDelay: sc.StartupDelay, OnFinish: rec.finished})
	if err != nil {
		return Result{}, err
	}
	models, err := withSingles(sc)
	if err != nil {
		return Result{}, err
	}
	if err := warmStart(s, sc, models, p); err != nil {
		return Result{}, err
	}
	env := &policy.Env{Sim: s, Scraper: scrape.New(15 * 60_000), Models: models}
	end := sc.Trace.Duration * 1000
	names := make([]string, len(sc.Trace.Models))
	for i, ml := range sc.Trace.Models {
		names[i] = ml.Model
		if rec.models[ml.Model] == nil {
			return Result{}, fmt.Errorf("trace %s: model %q has no setup", sc.Trace.Name, ml.Model)
		}
	}
	lastArrived := map[string]int64{}
	nextTick, nextSample := 0.0, 0.0
	i := 0
	step := func(t float64) error {
		s.RunUntil(t)
		if t >= nextSample && t <= end {
			for _, m := range s.Models() {
				mr := rec.models[m.Name]
				pt := Point{T: t / 1000, Load: float64(m.Arrived-lastArrived[m.Name]) / (sampleEvery / 1000), Replicas: map[string]int{}}
				lastArrived[m.Name] = m.Arrived
				for _, v := range m.Variants {
					pt.Replicas[v.Name] = len(v.Replicas())
				}
				mr.Timeline = append(mr.Timeline, pt)
			}
			nextSample += sampleEvery
		}
		env.Scraper.Scrape(s)
		return p.Act(t, env)
	}
	for {
		for i < len(arrivals) && arrivals[i].T < nextTick {
			a := arrivals[i]
			s.RunUntil(a.T)
			q := &sim.Request{ID: i, Model: names[a.Model], In: int(a.In), Out: int(a.Out)}
			rec.models[q.Model].Requests++
			if err := s.Arrive(q); err != nil {
				return Result{}, err
			}
			if q.ColdStart {
				rec.models[q.Model].ColdStart++
			}
			i++
		}
		if nextTick > end && (s.InFlight() == 0 || nextTick > end+maxTail) {
			break
		}
		if err := step(nextTick); err != nil {
			return Result{}, err
		}
		nextTick += policy.Tick
	}
	res := Result{Policy: p.Name(), Trace: sc.Trace.Name, Cost: s.Cost(0, end), ScaleActions: s.ScaleActions}
	var finished int64
	for _, m := range s.Models() {
		finished += m.Counters.Success
	}
	inFlight := s.InFlight()
	for _, m := range s.Models() {
		var held int64
		held += int64(m.GatewayQueue())
		for _, v := range m.Variants {
			for _, rp := range v.Replicas() {
				held += int64(rp.Outstanding())
			}
		}
		rec.models[m.Name].Unfinished = held
	}
	res.Conserved = int64(len(arrivals)) == finished+inFlight
	rec.finish(&res, sc.Models)
	return res, nil
}

// withSingles fills in the variant single-variant policies scale.
func withSingles(sc Scenario) ([]policy.Model, error) {
	out := slices.Clone(sc.Models)
	for i := range out {
		m := &out[i]
		if m.Single != "" {
			continue
		}
		shape, ok := shapeOf(sc, m.Name)
		if !ok {
			return nil, fmt.Errorf("model %s is not in trace %s", m.Name, sc.Trace.Name)
		}
		best := math.Inf(1)
		for _, v := range m.Variants {
			c, err := allocator.Capacity(v.Profile, m.SLO, shape.In.Mean(), shape.Out.Mean())
			if err != nil || c <= 0 {
				continue
			}
			if perCap := v.CostPerHour / c; perCap < best {
				best, m.Single = perCap, v.Name
			}
		}
		if m.Single == "" {
			return nil, fmt.Errorf("model %s: no variant meets its SLO", m.Name)
		}
	}
	return out, nil
}

func shapeOf(sc Scenario, model string) (workload.Shape, bool) {
	for _, ml := range sc.Trace.Models {
		if ml.Model == model {
			return ml.Shape, true
		}
	}
	return workload.Shape{}, false
}

// singleVariant is implemented by the policies that scale one variant.
type singleVariant interface{ SingleVariant() }

// warmStart gives every model the replicas the policy would run at the
// trace's initial rate, ready at time 0: the cost-optimal mix for the
// operator and the predecessor, ceil(rate/capacity) of the single variant
// for KEDA and the HPA (at least one for the HPA, whose minimum is 1).
func warmStart(s *sim.Sim, sc Scenario, models []policy.Model, p policy.Policy) error {
	_, single := p.(singleVariant)
	for _, m := range models {
		var rate float64
		var shape workload.Shape
		for _, ml := range sc.Trace.Models {
			if ml.Model == m.Name {
				rate, shape = ml.Rate(0), ml.Shape
			}
		}
		alloc, err := optimum(m, rate, shape.In.Mean(), shape.Out.Mean(), nil)
		if err != nil {
			return err
		}
		if single {
			alloc = map[string]int{}
			for _, v := range m.Variants {
				if v.Name == m.Single {
					c, err := allocator.Capacity(v.Profile, m.SLO, shape.In.Mean(), shape.Out.Mean())
					if err != nil {
						return err
					}
					alloc[v.Name] = int(math.Ceil(rate / c))
					if _, hpa := p.(*policy.HPAKV); hpa {
						alloc[v.Name] = max(alloc[v.Name], 1)
					}
				}
			}
		}
		for name, n := range alloc {
			if err := s.AddReady(name, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// optimum is the allocator's cost-optimal allocation for a rate (no policy
// rules; nothing when the rate is zero).
func optimum(m policy.Model, rate, avgIn, avgOut float64, cache *allocator.CapacityCache) (map[string]int, error) {
	out := map[string]int{}
	if rate <= 0 {
		return out, nil
	}
	vs := make([]allocator.Variant, len(m.Variants))
	for i, v := range m.Variants {
		vs[i] = allocator.Variant{Name: v.Name, Cost: v.CostPerHour, Profile: v.Profile, Max: allocator.Unbounded}
	}
	res, err := allocator.Plan(allocator.Input{
		Variants: vs, SLO: m.SLO, Now: policy.At(0),
		Load: allocator.Load{Available: true, Rate: rate, AvgIn: avgIn, AvgOut: math.Max(avgOut, 1)},
	}, cache)
	if err != nil {
		return nil, err
	}
	for _, d := range res.Variants {
		out[d.Name] = d.Replicas
	}
	return out, nil
}
