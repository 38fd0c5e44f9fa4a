package sim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/allocator"
)

func testSim(t *testing.T, kv int64, delay float64) *Sim {
	t.Helper()
	s, err := New(Config{StartupDelay: delay, Variants: []VariantSpec{
		{Name: "big", Model: "m", KVTokens: kv, CostPerHour: 10,
			Profile: allocator.Profile{MaxBatchSize: 16, Alpha: 10, Beta: 0.5, Gamma: 20, Delta: 0.05}},
		{Name: "small", Model: "m", KVTokens: kv / 2, CostPerHour: 4,
			Profile: allocator.Profile{MaxBatchSize: 4, Alpha: 15, Beta: 1, Gamma: 30, Delta: 0.1}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Conservation under everything that moves requests around: scale-ups
// with a start-up delay, cancellations, drains, the gateway queue while no
// replica is ready, and KV-cache preemption (a tight budget).
func TestConservation(t *testing.T) {
	s := testSim(t, 3000, 20_000)
	rng := rand.New(rand.NewPCG(1, 2))
	var reqs []*Request
	now := 0.0
	check := func() {
		t.Helper()
		var finished int64
		for _, m := range s.Models() {
			finished += m.Counters.Success
		}
		if got := finished + s.InFlight(); got != int64(len(reqs)) {
			t.Fatalf("at %.0f ms: %d arrived, %d finished + %d in flight", now, len(reqs), finished, s.InFlight())
		}
	}
	for i := range 20_000 {
		now += rng.ExpFloat64() * 50
		s.RunUntil(now)
		if i%500 == 0 {
			if err := s.Scale("big", rng.IntN(4)); err != nil {
				t.Fatal(err)
			}
			if err := s.Scale("small", rng.IntN(3)); err != nil {
				t.Fatal(err)
			}
			check()
		}
		r := &Request{ID: i, Model: "m", In: 1 + rng.IntN(600), Out: 1 + rng.IntN(400)}
		reqs = append(reqs, r)
		if err := s.Arrive(r); err != nil {
			t.Fatal(err)
		}
	}
	check()
	if err := s.Scale("big", 1); err != nil {
		t.Fatal(err)
	}
	for s.Pending() {
		s.RunUntil(s.Now() + 3600_000)
	}
	check()
	var preempted, cold int
	for _, r := range reqs {
		if !r.Done() {
			t.Fatalf("request %d never finished", r.ID)
		}
		if r.FirstToken < r.Arrival || r.Finish < r.FirstToken {
			t.Fatalf("request %d: arrival %.1f, first token %.1f, finish %.1f out of order", r.ID, r.Arrival, r.FirstToken, r.Finish)
		}
		// A decode step takes at least α: no token can come faster.
		if r.Out > 1 && r.MeanITL() < 10-1e-9 {
			t.Fatalf("request %d: mean ITL %.2f ms below the fastest decode step", r.ID, r.MeanITL())
		}
		preempted += r.Preemptions
		if r.ColdStart {
			cold++
		}
	}
	if preempted == 0 || cold == 0 {
		t.Errorf("the test must exercise preemption and the gateway queue: %d preemptions, %d cold starts", preempted, cold)
	}
	if c := s.Cost(0, s.Now()); !(c > 0) || math.IsInf(c, 0) {
		t.Errorf("cost %v", c)
	}
}

// One request on an idle replica: TTFT is one prefill step and every
// later token one decode step at batch 1.
func TestSingleRequestTiming(t *testing.T) {
	s := testSim(t, 1<<20, -1)
	if err := s.AddReady("big", 1); err != nil {
		t.Fatal(err)
	}
	r := &Request{Model: "m", In: 200, Out: 11}
	if err := s.Arrive(r); err != nil {
		t.Fatal(err)
	}
	s.RunUntil(1e6)
	got := map[string]float64{"ttft": r.TTFT(), "itl": r.MeanITL(), "finish": r.Finish}
	want := map[string]float64{"ttft": 20 + 0.05*200, "itl": 10.5, "finish": 30 + 10*10.5}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
		t.Errorf("timing (-want +got):\n%s", diff)
	}
}

// A request arriving during a run of decode steps joins at the next step
// boundary: its prefill delays the running request by one prefill.
func TestArrivalCutsDecodeRun(t *testing.T) {
	s := testSim(t, 1<<20, -1)
	if err := s.AddReady("big", 1); err != nil {
		t.Fatal(err)
	}
	a := &Request{Model: "m", In: 100, Out: 101}
	if err := s.Arrive(a); err != nil {
		t.Fatal(err)
	}
	// a's first token at 25 ms; decode steps of 10.5 ms follow.
	s.RunUntil(25 + 10.5*3 + 4) // inside the fourth decode step
	b := &Request{Model: "m", In: 100, Out: 2}
	if err := s.Arrive(b); err != nil {
		t.Fatal(err)
	}
	s.RunUntil(1e6)
	boundary := 25 + 10.5*4
	// b is prefilled together with a's decode step: γ + δ·100 + α + β·1.
	if want := boundary + 25 + 10.5; math.Abs(b.FirstToken-want) > 1e-9 {
		t.Errorf("b's first token at %.2f ms, want %.2f", b.FirstToken, want)
	}
	if a.Finish <= 25+100*10.5 {
		t.Errorf("a finished at %.2f ms: the prefill of b must have delayed it", a.Finish)
	}
}

// Scale-down drains: a draining replica finishes what it holds and costs
// until then; a starting replica is cancelled at once.
func TestDrainAndCancel(t *testing.T) {
	s := testSim(t, 1<<20, 60_000)
	if err := s.AddReady("big", 1); err != nil {
		t.Fatal(err)
	}
	r := &Request{Model: "m", In: 100, Out: 1001}
	if err := s.Arrive(r); err != nil {
		t.Fatal(err)
	}
	if err := s.Scale("small", 1); err != nil { // starting, ready at 60 s
		t.Fatal(err)
	}
	s.RunUntil(1000)
	if err := s.Scale("small", 0); err != nil { // cancelled after 1 s
		t.Fatal(err)
	}
	if err := s.Scale("big", 0); err != nil { // drains
		t.Fatal(err)
	}
	if got := s.Variant("big").Count(Draining); got != 1 {
		t.Fatalf("draining replicas: %d, want 1", got)
	}
	s.RunUntil(1e7)
	if !r.Done() {
		t.Fatal("the draining replica did not finish its request")
	}
	want := r.Finish/3.6e6*10 + 1000/3.6e6*4
	if got := s.Cost(0, 1e7); math.Abs(got-want) > 1e-9 {
		t.Errorf("cost %.6f, want %.6f", got, want)
	}
	if got := len(s.Variant("big").Replicas()); got != 0 {
		t.Errorf("%d replicas left after the drain", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := VariantSpec{Name: "v", Model: "m", KVTokens: 10, CostPerHour: 1, Profile: allocator.Profile{MaxBatchSize: 1, Alpha: 1}}
	bad := map[string][]VariantSpec{
		"none":      nil,
		"duplicate": {good, good},
		"no model":  {{Name: "v", KVTokens: 10, Profile: good.Profile}},
		"profile":   {{Name: "v", Model: "m", KVTokens: 10, Profile: allocator.Profile{MaxBatchSize: 0, Alpha: 1}}},
		"kv":        {{Name: "v", Model: "m", KVTokens: 0, Profile: good.Profile}},
	}
	for name, vs := range bad {
		if _, err := New(Config{Variants: vs}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := New(Config{Variants: []VariantSpec{good}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Arrive(&Request{Model: "other", Out: 1}); err == nil {
		t.Error("a request for an unknown model was accepted")
	}
	if err := s.Scale("v", -1); err == nil {
		t.Error("a negative replica count was accepted")
	}
}

// Flow control at the gateway: a replica with SaturationQueue requests
// waiting takes no more; the rest wait at the gateway in order and go to
// the next replica that has room, including one that becomes ready.
func TestGatewayFlowControl(t *testing.T) {
	s := testSim(t, 1<<20, -1)
	if err := s.AddReady("small", 1); err != nil {
		t.Fatal(err)
	}
	var reqs []*Request
	for i := range 20 {
		r := &Request{ID: i, Model: "m", In: 100, Out: 50}
		reqs = append(reqs, r)
		if err := s.Arrive(r); err != nil {
			t.Fatal(err)
		}
	}
	m := s.Model("m")
	first := s.Variant("small").Replicas()[0]
	got := map[string]int{"gateway": m.GatewayQueue(), "running": first.Running(), "waiting": first.Waiting()}
	want := map[string]int{"gateway": 20 - 1 - SaturationQueue, "running": 1, "waiting": SaturationQueue}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("one replica (-want +got):\n%s", diff)
	}
	if err := s.AddReady("big", 1); err != nil {
		t.Fatal(err)
	}
	if got, want := m.GatewayQueue(), 20-2*(1+SaturationQueue); got != want {
		t.Errorf("after a second replica: %d at the gateway, want %d", got, want)
	}
	s.RunUntil(1e7)
	for i, r := range reqs {
		if !r.Done() {
			t.Fatalf("request %d never finished", i)
		}
		if r.ColdStart {
			t.Errorf("request %d marked as a cold start although a replica was ready", i)
		}
	}
	// The gateway queue is FIFO: requests left it in arrival order.
	for i := 1; i < len(reqs); i++ {
		if reqs[i].Dispatched < reqs[i-1].Dispatched {
			t.Errorf("request %d dispatched at %.1f before request %d at %.1f", i, reqs[i].Dispatched, i-1, reqs[i-1].Dispatched)
		}
	}
}
