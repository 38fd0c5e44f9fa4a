package estimator

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/replay/scrape"
	"github.com/llm-d/variant-autoscaler/replay/sim"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// TestPhysicsReadsTheSimulator: the replay's discrete-event server
// (replay/sim: vLLM-style steps, counters booked as vLLM books them), read
// window by window through the physics with its true parameters, gives
// both relations back: the decode reading ITL·(1 − u) is α + β·n and the
// prefill reading is γ + δ·x, each within 2.5% on average (1.8% at worst),
// from light load to more than twice a server's capacity (batch pinned at
// its limit, a queue growing), for one server fed Poisson arrivals and for
// three behind the simulator's router (fewest outstanding requests), whose
// requests find fewer others in service than a server's time average. At
// the heaviest load, reading the decode without the prefill share u is 13%
// off, the prefill without the decode part 125%, and x without the others
// admitted with a request 3.3%.
func TestPhysicsReadsTheSimulator(t *testing.T) {
	truth := allocator.Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	p := Params{Alpha: truth.Alpha, Beta: truth.Beta, Gamma: truth.Gamma, Delta: truth.Delta}
	for _, servers := range []int{1, 3} {
		// Per server, req/s; ShareGPT shapes fill the batch of 64 at about 3.
		for _, rate := range []float64{0.3, 1.5, 2.5, 4.5, 8} {
			decode, prefill := meanReadings(t, truth, p, servers, rate)
			t.Logf("%d servers at %.1f req/s each: decode %+.2f%%, prefill %+.2f%%", servers, rate, 100*decode, 100*prefill)
			if math.Abs(decode) > 0.025 || math.Abs(prefill) > 0.025 {
				t.Errorf("%d servers at %.1f req/s each: decode reading %+.1f%%, prefill reading %+.1f%% off the true relations",
					servers, rate, 100*decode, 100*prefill)
			}
		}
	}
}

// meanReadings serves two simulated hours at a steady rate per server and
// returns, over one-minute windows after the first twenty minutes, the
// mean relative difference of each relation's reading from its true value.
func meanReadings(t *testing.T, truth allocator.Profile, p Params, servers int, rate float64) (decode, prefill float64) {
	t.Helper()
	const scrapeEvery, window, warmUp, end = 15_000.0, 60_000.0, 20 * 60_000.0, 2 * 3600_000.0
	s, err := sim.New(sim.Config{StartupDelay: -1, Variants: []sim.VariantSpec{
		{Name: "v", Model: "m", KVTokens: 1 << 40, CostPerHour: 1, Profile: truth}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddReady("v", servers); err != nil {
		t.Fatal(err)
	}
	shape := workload.ShareGPT()
	rng := rand.New(rand.NewPCG(1, uint64(servers)))
	pods := scrape.NewPods(2 * window)
	var obs []Observation
	var prompts, requests float64
	next := scrapeEvery
	for now, id := 0.0, 0; now < end; id++ {
		now += rng.ExpFloat64() * 1000 / (rate * float64(servers))
		for ; next <= now; next += scrapeEvery {
			s.RunUntil(next)
			pods.Scrape(s)
			if next < warmUp || math.Mod(next, window) != 0 {
				continue
			}
			for _, w := range pods.Windows(next, window) {
				if w.Requests == 0 || w.TTFTCount == 0 || w.ITLCount == 0 {
					continue
				}
				o, ok, err := FromWindow(Window{
					Requests: w.TTFTCount, RequestRate: w.TTFTCount / w.Seconds,
					TTFT: w.TTFTSum / w.TTFTCount, ITL: w.ITLSum / w.ITLCount,
					Running: w.Running, Waiting: w.Waiting,
					InputTokens: w.PromptTokens / w.Requests, PrefillTime: w.PrefillSum / w.Requests,
					InService:  (w.PrefillSum + w.ITLSum) / (w.Seconds * 1000),
					RunningVar: w.RunningVar, HasRunningVar: w.HasRunningVar,
				}, truth.MaxBatchSize)
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					obs = append(obs, o)
					prompts += w.PromptTokens
					requests += w.Requests
				}
			}
		}
		s.RunUntil(now)
		if err := s.Arrive(&sim.Request{ID: id, Model: "m", In: shape.In.Sample(rng), Out: shape.Out.Sample(rng)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(obs) < 100*servers {
		t.Fatalf("%d servers at %.1f req/s: %d windows observed", servers, rate, len(obs))
	}
	typical := prompts / requests // what the estimator's running mean of the prompts settles at
	for _, o := range obs {
		n, y := decodePoint(p, o)
		decode += y/(p.Alpha+p.Beta*n) - 1
		x, y, ok := prefillPoint(p, o, typical)
		if !ok {
			t.Fatalf("%d servers at %.1f req/s: no prefill reading from %+v", servers, rate, o)
		}
		prefill += y/(p.Gamma+p.Delta*x) - 1
	}
	return decode / float64(len(obs)), prefill / float64(len(obs))
}
