package experiment

import (
	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/policy"
	"github.com/llm-d/variant-autoscaler/replay/sim"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// Prices per accelerator-hour, USD: AWS EC2 on-demand, us-east-1, Linux,
// list prices of 2024 (aws.amazon.com/ec2/pricing/on-demand/ and the
// instance pages for P5, P4d and G6e), divided by the GPUs per instance.
const (
	// PriceH100 is p5.48xlarge (8× H100 80GB) at $98.32/h, per GPU.
	PriceH100 = 98.32 / 8
	// PriceA100 is p4d.24xlarge (8× A100 40GB) at $32.7726/h, per GPU.
	PriceA100 = 32.7726 / 8
	// PriceL40S is g6e.xlarge (1× L40S 48GB) at $1.861/h.
	PriceL40S = 1.861
)

// KV-cache budgets in tokens: (0.9 × GPU memory − weights) / KV bytes per
// token. An 8B model (Llama-3.1-8B: 16 GB of weights in bf16, 128 KiB of KV
// per token) and a 70B model (140 GB, 320 KiB per token).
const (
	kvH100x8B  = 430_000 // (72 − 16) GB / 128 KiB
	kvA100x8B  = 156_000 // (36 − 16) GB / 128 KiB
	kvL40Sx8B  = 212_000 // (43.2 − 16) GB / 128 KiB
	kv4H100x70 = 460_000 // (288 − 140) GB / 320 KiB
	kv8A100x70 = 460_000 // (288 − 140) GB / 320 KiB
)

// Chat8B is an 8B chat model with three variants (the planner example's
// profiles) serving ShareGPT-shaped requests, SLO TTFT 1 s / ITL 60 ms.
func Chat8B() policy.Model {
	return policy.Model{
		Name: "chat-8b",
		SLO:  allocator.SLO{TTFT: 1000, ITL: 60},
		Variants: []sim.VariantSpec{
			{Name: "chat-8b-h100", Model: "chat-8b", CostPerHour: PriceH100, KVTokens: kvH100x8B,
				Profile: allocator.Profile{MaxBatchSize: 256, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}},
			{Name: "chat-8b-a100", Model: "chat-8b", CostPerHour: PriceA100, KVTokens: kvA100x8B,
				Profile: allocator.Profile{MaxBatchSize: 128, Alpha: 12, Beta: 0.45, Gamma: 25, Delta: 0.035}},
			{Name: "chat-8b-l40s", Model: "chat-8b", CostPerHour: PriceL40S, KVTokens: kvL40Sx8B,
				Profile: allocator.Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}},
		},
	}
}

// Assist8B is an interactive assistant on the same 8B model, LMSYS-shaped
// requests and a tighter SLO (TTFT 500 ms, ITL 40 ms).
func Assist8B() policy.Model {
	return policy.Model{
		Name: "assist-8b",
		SLO:  allocator.SLO{TTFT: 500, ITL: 40},
		Variants: []sim.VariantSpec{
			{Name: "assist-8b-h100", Model: "assist-8b", CostPerHour: PriceH100, KVTokens: kvH100x8B,
				Profile: allocator.Profile{MaxBatchSize: 256, Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}},
			{Name: "assist-8b-l40s", Model: "assist-8b", CostPerHour: PriceL40S, KVTokens: kvL40Sx8B,
				Profile: allocator.Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}},
		},
	}
}

// RAG70B is a 70B model on four or eight GPUs per replica, long prompts and
// a relaxed SLO (TTFT 3 s, ITL 80 ms).
func RAG70B() policy.Model {
	return policy.Model{
		Name: "rag-70b",
		SLO:  allocator.SLO{TTFT: 3000, ITL: 80},
		Variants: []sim.VariantSpec{
			{Name: "rag-70b-4xh100", Model: "rag-70b", CostPerHour: 4 * PriceH100, KVTokens: kv4H100x70,
				Profile: allocator.Profile{MaxBatchSize: 128, Alpha: 20, Beta: 0.35, Gamma: 40, Delta: 0.06}},
			{Name: "rag-70b-8xa100", Model: "rag-70b", CostPerHour: 8 * PriceA100, KVTokens: kv8A100x70,
				Profile: allocator.Profile{MaxBatchSize: 128, Alpha: 28, Beta: 0.5, Gamma: 50, Delta: 0.07}},
		},
	}
}

// Scenario is a trace with the models it drives.
type Scenario struct {
	Trace  workload.Trace
	Models []policy.Model
	// StartupDelay in ms (0: sim.DefaultStartupDelay).
	StartupDelay float64
}

const hour = 3600.0

// Scenarios are the four traces of the report, seeded from seed. scale
// multiplies every rate and hours sets the length of the day-long traces
// (24 for the report; the tests use shorter, smaller ones).
func Scenarios(seed uint64, scale, hours float64) []Scenario {
	day := hours * hour
	at := func(h float64) float64 { return h / 24 * day } // an hour of the day, compressed with hours
	chatShape, lmsys, long := workload.ShareGPT(), workload.LMSYS(), workload.LongPrompt()
	diurnal := workload.Diurnal(1.5*scale, 10, 4*hours/24)
	diurnalRate := func(t float64) float64 { return diurnal(t * 24 / hours) }
	bursts := workload.RandomBursts(seed, 6, at(8), at(22), 300, 2)
	flashPeak := 15 * scale
	chat := Chat8B()
	flashChat := Chat8B()
	flashChat.ScaleToZero = true
	wrap := func(f func(float64) float64) func(float64) float64 {
		return func(t float64) float64 { return f(t * 24 / hours) }
	}
	return []Scenario{
		{Models: []policy.Model{chat}, Trace: workload.Trace{
			Name: "diurnal", Seed: seed, Duration: day,
			Description: "one model, a day with a 10× peak-to-trough ratio (1.5 → 15 req/s)",
			Models:      []workload.ModelLoad{{Model: chat.Name, Rate: diurnalRate, MaxRate: 15 * scale, Shape: chatShape}},
		}},
		{Models: []policy.Model{chat}, Trace: workload.Trace{
			Name: "diurnal-bursts", Seed: seed, Duration: day,
			Description: "the diurnal day with six 2× bursts of 5 minutes between 08:00 and 22:00",
			Models: []workload.ModelLoad{{Model: chat.Name, Rate: workload.WithBursts(diurnalRate, bursts),
				MaxRate: 30 * scale, Shape: chatShape}},
		}},
		{Models: []policy.Model{flashChat}, Trace: workload.Trace{
			Name: "flash-crowd", Seed: seed, Duration: 4 * hour,
			Description: "a model at zero (scale to zero on) gets 0 → 15 req/s in one minute at 01:00, holds 90 min, then falls to zero over 10 min",
			Models: []workload.ModelLoad{{Model: flashChat.Name, Rate: workload.FlashCrowd(hour, 60, 90*60, 600, flashPeak),
				MaxRate: flashPeak, Shape: chatShape}},
		}},
		{Models: []policy.Model{Chat8B(), Assist8B(), RAG70B()}, Trace: workload.Trace{
			Name: "three-models", Seed: seed, Duration: day,
			Description: "three models with different shapes and SLOs and shifted daily peaks share the cluster",
			Models: []workload.ModelLoad{
				{Model: "chat-8b", Rate: wrap(workload.Diurnal(1*scale, 10, 4)), MaxRate: 10 * scale, Shape: chatShape},
				{Model: "assist-8b", Rate: wrap(workload.Diurnal(2*scale, 8, 8)), MaxRate: 16 * scale, Shape: lmsys},
				{Model: "rag-70b", Rate: wrap(workload.Diurnal(0.3*scale, 6, 0)), MaxRate: 1.8 * scale, Shape: long},
			},
		}},
	}
}
