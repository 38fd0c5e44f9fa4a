package emulator

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const sample = `
models:
  - namespace: team
    model: a
    phases:
      - {duration: 10s, rate: 10, promptTokens: 256, generationTokens: 64, ramp: true}
      - {duration: 10s, rate: 10}
      - {duration: 5s, rate: 0}
  - namespace: team
    model: b
    replicas: 0
    profile: {maxBatchSize: 8, alpha: 10, beta: 1, gamma: 20, delta: 0.01}
    phases: []
`

func newTest(t *testing.T) (*Emulator, *fakeClock) {
	t.Helper()
	s, err := ParseSchedule([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	e, err := New(s, WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func requests(t *testing.T, e *Emulator, model string) float64 {
	t.Helper()
	n, err := e.Requests("team", model)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestScheduleRampsHoldsAndContinuesTheLastPhase(t *testing.T) {
	e, clock := newTest(t)
	for _, step := range []struct {
		after    time.Duration
		rate     float64
		requests float64 // whole requests counted so far
	}{
		{5 * time.Second, 5, 12},   // ramp 0→10: ∫ = 12.5, 12 counted
		{5 * time.Second, 10, 50},  // end of the ramp: 50
		{10 * time.Second, 0, 150}, // held at 10 for 10s; the next phase starts now
		{time.Hour, 0, 150},        // the last phase continues
	} {
		clock.add(step.after)
		if got, _ := e.Rate("team", "a"); got != step.rate {
			t.Errorf("rate %v, want %v", got, step.rate)
		}
		if got := requests(t, e, "a"); got != step.requests {
			t.Errorf("requests %v, want %v", got, step.requests)
		}
	}
	// Scraping in small steps counts the same whole requests (the fraction carries over).
	e2, clock2 := newTest(t)
	for range 1000 {
		clock2.add(10 * time.Millisecond)
		e2.Advance()
	}
	if got := requests(t, e2, "a"); got != 50 {
		t.Errorf("after 1000 steps of 10ms: %v requests, want 50", got)
	}
}

func TestMetricsHaveVLLMNamesAndDerivedLatencies(t *testing.T) {
	e, clock := newTest(t)
	clock.add(20 * time.Second)
	e.Advance()
	if got := testutil.ToFloat64(e.requests.WithLabelValues("team", "a", "pod-0", "stop")); got != 150 {
		t.Errorf("%s = %v", MetricRequestSuccess, got)
	}
	body := scrape(t, e)
	for _, want := range []string{
		`vllm:request_success_total{finished_reason="stop",model_name="a",namespace="team",pod="pod-0"} 150`,
		`vllm:request_success_total{finished_reason="length",model_name="a",namespace="team",pod="pod-0"} 0`,
		`vllm:request_prompt_tokens_sum{model_name="a",namespace="team",pod="pod-0"} 38400`,
		`vllm:request_generation_tokens_count{model_name="a",namespace="team",pod="pod-0"} 150`,
		`vllm:time_to_first_token_seconds_count{model_name="a",namespace="team",pod="pod-0"} 150`,
		`vllm:inter_token_latency_seconds_bucket{model_name="a",namespace="team",pod="pod-0",le="0.01"}`,
		"# TYPE vllm:request_success_total counter",
		"# TYPE vllm:inter_token_latency_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// b has no replica: no pod, no vLLM series.
	if strings.Contains(body, `model_name="b"`) {
		t.Errorf("/metrics has series of b, which has no pod:\n%s", body)
	}

	// Latencies follow the replicas: one replica at 10 req/s is slower than two.
	itlAt := func(replicas int) float64 {
		if err := e.SetReplicas("team", "a", replicas); err != nil {
			t.Fatal(err)
		}
		_ = e.SetPhases("team", "a", []Phase{{Rate: 10}})
		before := sum(t, e, MetricITL)
		clock.add(time.Second)
		e.Advance()
		return (sum(t, e, MetricITL) - before) / 10
	}
	one, two := itlAt(1), itlAt(2)
	if !(one > two && two > 0.008) {
		t.Errorf("ITL with 1 replica %v s, with 2 %v s: want more with fewer replicas, above alpha", one, two)
	}
}

// sum returns the _sum of a histogram of model a over its pods.
// The inter-token latency histogram goes by vLLM's name since 0.11 by
// default, by the one before 0.11 or both when asked; both hold the same.
func TestITLNames(t *testing.T) {
	s, err := ParseSchedule([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		names     []string
		wantNames []string
		wantErr   bool
	}{
		"default":     {wantNames: []string{MetricITL}},
		"before 0.11": {names: []string{MetricITLBefore011}, wantNames: []string{MetricITLBefore011}},
		"0.11":        {names: []string{MetricITL, MetricITLBefore011}, wantNames: []string{MetricITL, MetricITLBefore011}},
		"none":        {names: []string{}, wantErr: true},
		"twice":       {names: []string{MetricITL, MetricITL}, wantErr: true},
		"unknown":     {names: []string{"vllm:itl"}, wantErr: true},
	} {
		t.Run(name, func(t *testing.T) {
			clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			opts := []Option{WithClock(clock.now)}
			if tc.names != nil {
				opts = append(opts, WithITLNames(tc.names...))
			}
			e, err := New(s, opts...)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New: err = %v, want an error: %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			clock.add(20 * time.Second)
			e.Advance()
			body := scrape(t, e)
			var sums []float64
			for _, n := range []string{MetricITL, MetricITLBefore011} {
				has := strings.Contains(body, "# TYPE "+n+" histogram")
				if want := slices.Contains(tc.wantNames, n); has != want {
					t.Errorf("/metrics has %s: %v, want %v", n, has, want)
				}
				if has {
					sums = append(sums, sum(t, e, n))
				}
			}
			if len(sums) == 2 && sums[0] != sums[1] {
				t.Errorf("the two names hold different sums: %v", sums)
			}
			if sums[0] <= 0 {
				t.Errorf("no latency observed: %v", sums)
			}
		})
	}
}

func sum(t *testing.T, e *Emulator, name string) float64 {
	t.Helper()
	families, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	total, found := 0.0, false
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "model_name" && l.GetValue() == "a" {
					total += m.GetHistogram().GetSampleSum()
					found = true
				}
			}
		}
	}
	if !found {
		t.Fatalf("no %s", name)
	}
	return total
}

func scrape(t *testing.T, e *Emulator) string {
	t.Helper()
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSetPhasesRampsFromTheCurrentRate(t *testing.T) {
	e, clock := newTest(t)
	clock.add(15 * time.Second) // holding 10 req/s
	// Up to 20 req/s, within the pod's capacity (25 req/s): every request is served.
	if err := e.SetPhases("team", "a", []Phase{{Duration: Duration{10 * time.Second}, Rate: 20, Ramp: true}}); err != nil {
		t.Fatal(err)
	}
	before := requests(t, e, "a")
	clock.add(5 * time.Second)
	if got, _ := e.Rate("team", "a"); got != 15 {
		t.Errorf("rate %v, want 15 half-way from 10 to 20", got)
	}
	clock.add(time.Hour)
	if got, _ := e.Rate("team", "a"); got != 20 {
		t.Errorf("rate %v, want 20 after the ramp", got)
	}
	if got := requests(t, e, "a") - before; math.Abs(got-(150+20*3595)) > 1 {
		t.Errorf("requests %v", got)
	}
	if err := e.SetPhases("team", "zzz", nil); err == nil {
		t.Error("unknown model: no error")
	}
}

func TestReplicasEndpoint(t *testing.T) {
	e, _ := newTest(t)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	for query, want := range map[string]int{
		"namespace=team&model=a&n=3":  http.StatusNoContent,
		"namespace=team&model=x&n=3":  http.StatusBadRequest,
		"namespace=team&model=a&n=-1": http.StatusBadRequest,
		"namespace=team&model=a&n=x":  http.StatusBadRequest,
	} {
		resp, err := http.Post(srv.URL+"/replicas?"+query, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", query, resp.StatusCode, want)
		}
	}
	if e.models[modelKey{"team", "a"}].replicas != 3 {
		t.Error("replicas not set")
	}
}

func TestParseScheduleRejectsMistakes(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field":    "models: [{namespace: n, model: m, phases: [{duration: 1s, rat: 3}]}]",
		"no namespace":     "models: [{model: m}]",
		"twice":            "models: [{namespace: n, model: m}, {namespace: n, model: m}]",
		"negative rate":    "models: [{namespace: n, model: m, phases: [{duration: 1s, rate: -1}]}]",
		"bad duration":     "models: [{namespace: n, model: m, phases: [{duration: soon, rate: 1}]}]",
		"no duration":      "models: [{namespace: n, model: m, phases: [{rate: 1}, {rate: 2}]}]",
		"invalid profile":  "models: [{namespace: n, model: m, profile: {maxBatchSize: 0, alpha: 1}}]",
		"no output tokens": "models: [{namespace: n, model: m, phases: [{rate: 1, generationTokens: 0.5}]}]",
	} {
		if _, err := ParseSchedule([]byte(doc)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A pod of two data-parallel engines shows, per engine, what two pods of
// one server each show per pod: each engine is a server at its share of
// the rate, labelled as vLLM labels it.
func TestEnginesPerPod(t *testing.T) {
	schedule := func(replicas int) Schedule {
		return Schedule{Models: []ModelSchedule{{Namespace: "team", Model: "a", Replicas: &replicas,
			Phases: []Phase{{Rate: 20, PromptTokens: 256, GenerationTokens: 64}}}}}
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	engines, err := New(schedule(1), WithClock(clock.now), WithEnginesPerPod(2))
	if err != nil {
		t.Fatal(err)
	}
	pods, err := New(schedule(2), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	clock.add(10 * time.Second)
	engines.Advance()
	pods.Advance()
	// Requests and the time spent in service (the running gauge is a
	// draw per server, runningAt).
	byServer := func(e *Emulator) map[string][2]float64 {
		out := map[string][2]float64{}
		for pod, c := range readPods(t, e, "a") {
			out[pod] = [2]float64{c.ttftCount, c.itlSum + c.prefillSum}
		}
		return out
	}
	got, want := byServer(engines), byServer(pods)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("servers: %v with engines, %v with pods", got, want)
	}
	if diff := cmp.Diff(want["pod-0"], got["pod-0/0"]); diff != "" {
		t.Errorf("engine 0 against a pod of its own (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want["pod-1"], got["pod-0/1"]); diff != "" {
		t.Errorf("engine 1 against a pod of its own (-want +got):\n%s", diff)
	}
	if body := scrape(t, engines); !strings.Contains(body, `vllm:num_requests_running{engine="1",model_name="a",namespace="team",pod="pod-0"}`) {
		t.Errorf("/metrics lacks engine 1's running gauge:\n%s", body)
	}
	for _, n := range []int{-1, maxEnginesPerPod + 1} {
		if _, err := New(schedule(1), WithEnginesPerPod(n)); err == nil {
			t.Errorf("%d engines per pod accepted", n)
		}
	}
}
