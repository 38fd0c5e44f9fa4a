package experiment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/sim"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// Case is one profile, request shape and SLO of the model validation.
type Case struct {
	Name    string
	Variant sim.VariantSpec
	Shape   workload.Shape
	SLO     allocator.SLO
}

// ValidationCases are the three profile/shape pairs of the report.
func ValidationCases() []Case {
	chat, assist, rag := Chat8B(), Assist8B(), RAG70B()
	return []Case{
		{Name: "8B on L40S, ShareGPT", Variant: chat.Variants[2], Shape: workload.ShareGPT(), SLO: chat.SLO},
		{Name: "8B on H100, LMSYS", Variant: assist.Variants[0], Shape: workload.LMSYS(), SLO: assist.SLO},
		{Name: "70B on 4×H100, long prompts", Variant: rag.Variants[0], Shape: workload.LongPrompt(), SLO: rag.SLO},
	}
}

// Stats summarises one steady-state simulation of a single replica.
type Stats struct {
	TTFTMean, TTFTp90 float64
	ITLMean, ITLp90   float64
	// Attainment is the share of requests within the SLO.
	Attainment float64
	Requests   int
	// AvgIn and AvgOut are the realised mean lengths.
	AvgIn, AvgOut float64
}

// Steady simulates one warm replica under Poisson arrivals at rate (req/s)
// with lengths from dist, drops the first tenth of the requests as warm-up
// and returns the statistics of the rest.
func Steady(v sim.VariantSpec, in, out workload.Dist, rate float64, n int, seed uint64, slo allocator.SLO) (Stats, error) {
	var done []*sim.Request
	s, err := sim.New(sim.Config{Variants: []sim.VariantSpec{v}, OnFinish: func(r *sim.Request) { done = append(done, r) }})
	if err != nil {
		return Stats{}, err
	}
	if err := s.AddReady(v.Name, 1); err != nil {
		return Stats{}, err
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	t := 0.0
	for i := range n {
		t += rng.ExpFloat64() / rate * 1000
		s.RunUntil(t)
		r := &sim.Request{ID: i, Model: v.Model, In: in.Sample(rng), Out: max(out.Sample(rng), 1)}
		if err := s.Arrive(r); err != nil {
			return Stats{}, err
		}
	}
	for s.Pending() {
		s.RunUntil(s.Now() + 3600_000)
	}
	if len(done) != n {
		return Stats{}, fmt.Errorf("validation: %d of %d requests finished", len(done), n)
	}
	slices.SortFunc(done, func(a, b *sim.Request) int { return a.ID - b.ID })
	kept := done[n/10:]
	ttft := make([]float64, len(kept))
	itl := make([]float64, len(kept))
	st := Stats{Requests: len(kept)}
	met := 0
	for i, r := range kept {
		ttft[i], itl[i] = r.TTFT(), r.MeanITL()
		st.AvgIn += float64(r.In)
		st.AvgOut += float64(r.Out)
		if ttft[i] <= slo.TTFT && itl[i] <= slo.ITL {
			met++
		}
	}
	st.AvgIn /= float64(len(kept))
	st.AvgOut /= float64(len(kept))
	st.TTFTMean, st.TTFTp90 = mean(ttft), quantile(ttft, 0.9)
	st.ITLMean, st.ITLp90 = mean(itl), quantile(itl, 0.9)
	st.Attainment = float64(met) / float64(len(kept))
	return st, nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func quantile(xs []float64, q float64) float64 {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys[min(max(int(math.Ceil(q*float64(len(ys))))-1, 0), len(ys)-1)]
}

// Row is one line of the validation table.
type Row struct {
	Case     string  `json:"case"`
	Fraction float64 `json:"fraction"`
	Rate     float64 `json:"rate"`
	// Model predictions (ms).
	PredTTFT float64 `json:"predTTFT"`
	PredITL  float64 `json:"predITL"`
	// Simulated with the heavy-tailed lengths.
	Sim Stats `json:"sim"`
	// SimFixed is simulated with every request at the mean lengths.
	SimFixed Stats `json:"simFixed"`
}

// CaseSummary gives a case's capacities: the model's and the simulator's.
type CaseSummary struct {
	Case string `json:"case"`
	// ModelCapacity is allocator.Capacity at the shape's mean lengths.
	ModelCapacity float64 `json:"modelCapacity"`
	// SimCapacityMean is the largest rate at which the simulated mean TTFT
	// and mean ITL meet the SLO (the model's own criterion).
	SimCapacityMean float64 `json:"simCapacityMean"`
	// SimCapacity99 is the largest rate with 99% of requests within the SLO.
	SimCapacity99 float64 `json:"simCapacity99"`
	// MaxRate is the model's μ(N).
	MaxRate float64 `json:"maxRate"`
	AvgIn   float64 `json:"avgIn"`
	AvgOut  float64 `json:"avgOut"`
}

// Validate runs the model-against-simulator table for the cases: loads of
// 10% to 90% of the model's capacity; n requests per point.
func Validate(cases []Case, n int, seed uint64) ([]Row, []CaseSummary, error) {
	var rows []Row
	var sums []CaseSummary
	for _, c := range cases {
		avgIn, avgOut := c.Shape.In.Mean(), c.Shape.Out.Mean()
		m, err := allocator.NewModel(c.Variant.Profile, avgIn, avgOut)
		if err != nil {
			return nil, nil, err
		}
		capacity, err := m.Capacity(c.SLO)
		if err != nil {
			return nil, nil, err
		}
		fixedIn, fixedOut := workload.Fixed{N: int(math.Round(avgIn))}, workload.Fixed{N: int(math.Round(avgOut))}
		for k := 1; k <= 9; k++ {
			f := float64(k) / 10
			rate := f * capacity
			pred, err := m.Predict(rate)
			if err != nil {
				return nil, nil, err
			}
			st, err := Steady(c.Variant, c.Shape.In, c.Shape.Out, rate, n, seed+uint64(k), c.SLO)
			if err != nil {
				return nil, nil, err
			}
			fx, err := Steady(c.Variant, fixedIn, fixedOut, rate, n, seed+uint64(k), c.SLO)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, Row{Case: c.Name, Fraction: f, Rate: rate, PredTTFT: pred.TTFT, PredITL: pred.ITL, Sim: st, SimFixed: fx})
		}
		sum := CaseSummary{Case: c.Name, ModelCapacity: capacity, MaxRate: m.MaxRate(), AvgIn: avgIn, AvgOut: avgOut}
		meetsMean := func(r float64) (bool, error) {
			st, err := Steady(c.Variant, c.Shape.In, c.Shape.Out, r, n, seed+100, c.SLO)
			return err == nil && st.TTFTMean <= c.SLO.TTFT && st.ITLMean <= c.SLO.ITL, err
		}
		meets99 := func(r float64) (bool, error) {
			st, err := Steady(c.Variant, c.Shape.In, c.Shape.Out, r, n, seed+200, c.SLO)
			return err == nil && st.Attainment >= 0.99, err
		}
		if sum.SimCapacityMean, err = bisectRate(meetsMean, 1.5*m.MaxRate()); err != nil {
			return nil, nil, err
		}
		if sum.SimCapacity99, err = bisectRate(meets99, 1.5*m.MaxRate()); err != nil {
			return nil, nil, err
		}
		sums = append(sums, sum)
	}
	return rows, sums, nil
}

// bisectRate finds the largest rate in (0, hi] where ok holds, to 1%.
func bisectRate(ok func(float64) (bool, error), hi float64) (float64, error) {
	lo := 0.0
	for hi-lo > 0.01*hi {
		mid := (lo + hi) / 2
		good, err := ok(mid)
		if err != nil {
			return 0, err
		}
		if good {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}
