package emulator

import (
	"math"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/estimator"
)

// podTotals are one pod's cumulative series at a read.
type podTotals struct {
	ttftSum, ttftCount, itlSum, itlCount, promptSum, promptCount, prefillSum, prefillCount, inferenceSum float64
	running, waiting                                                                                     float64
}

func readPods(t *testing.T, e *Emulator, model string) map[string]podTotals {
	t.Helper()
	families, err := e.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]podTotals{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var pod, engine, mod string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "pod":
					pod = l.GetValue()
				case "engine":
					engine = l.GetValue()
				case "model_name":
					mod = l.GetValue()
				}
			}
			if engine != "" { // one server per engine, as the load source reads them
				pod += "/" + engine
			}
			if mod != model {
				continue
			}
			p := out[pod]
			h := m.GetHistogram()
			switch f.GetName() {
			case MetricTTFT:
				p.ttftSum, p.ttftCount = h.GetSampleSum(), float64(h.GetSampleCount())
			case MetricITL:
				p.itlSum, p.itlCount = h.GetSampleSum(), float64(h.GetSampleCount())
			case MetricPromptTokens:
				p.promptSum, p.promptCount = h.GetSampleSum(), float64(h.GetSampleCount())
			case MetricPrefillTime:
				p.prefillSum, p.prefillCount = h.GetSampleSum(), float64(h.GetSampleCount())
			case MetricInferenceTime:
				p.inferenceSum = h.GetSampleSum()
			case MetricRunning:
				p.running = m.GetGauge().GetValue()
			case MetricWaiting:
				p.waiting = m.GetGauge().GetValue()
			}
			out[pod] = p
		}
	}
	return out
}

// TestServingSeriesTeachTheEstimator: the per-pod series the emulator
// exports, read as the load source's per-pod queries read them (increases
// over one-minute windows, gauges), teach the estimator the emulated profile
// from a prior that knows nothing of it, and the estimate becomes Usable.
func TestServingSeriesTeachTheEstimator(t *testing.T) {
	truth := Profile{MaxBatchSize: 64, Alpha: 18, Beta: 0.6, Gamma: 35, Delta: 0.05}
	two := 2
	var phases []Phase
	for i, in := range []float64{256, 1024, 512, 2048} {
		phases = append(phases,
			Phase{Duration: Duration{Duration: 10 * time.Minute}, Rate: 0.5, PromptTokens: in, GenerationTokens: 128, Ramp: i > 0},
			Phase{Duration: Duration{Duration: 10 * time.Minute}, Rate: 9, PromptTokens: in, GenerationTokens: 128, Ramp: true})
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	e, err := New(Schedule{Models: []ModelSchedule{{Namespace: "ns", Model: "m", Profile: &truth, Replicas: &two, Phases: phases}}}, WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	est, err := estimator.New(estimator.DefaultPrior(""), estimator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const window = time.Minute
	prev := readPods(t, e, "m")
	for range 80 {
		// Read every 5 s, as a scrape would: each read serves the requests
		// since the last at the rate of the moment.
		for range 12 {
			clock.add(window / 12)
			e.Advance()
		}
		cur := readPods(t, e, "m")
		for pod, c := range cur {
			p := prev[pod]
			n := c.ttftCount - p.ttftCount
			if n <= 0 || c.itlCount == p.itlCount {
				continue
			}
			w := estimator.Window{
				Requests: n, RequestRate: n / window.Seconds(),
				TTFT: 1000 * (c.ttftSum - p.ttftSum) / n, ITL: 1000 * (c.itlSum - p.itlSum) / (c.itlCount - p.itlCount),
				InputTokens: (c.promptSum - p.promptSum) / (c.promptCount - p.promptCount),
				PrefillTime: 1000 * (c.prefillSum - p.prefillSum) / (c.prefillCount - p.prefillCount),
				InService:   (c.itlSum - p.itlSum + c.prefillSum - p.prefillSum) / window.Seconds(),
				Running:     c.running, Waiting: c.waiting,
			}
			obs, ok, err := estimator.FromWindow(w, truth.MaxBatchSize)
			if err != nil {
				t.Fatalf("pod %s: %v", pod, err)
			}
			if ok {
				if _, err := est.Update(clock.now(), obs); err != nil {
					t.Fatal(err)
				}
			}
		}
		prev = cur
	}
	got := est.Estimate()
	for _, p := range [][3]any{{"alpha", got.Params.Alpha, truth.Alpha}, {"beta", got.Params.Beta, truth.Beta},
		{"gamma", got.Params.Gamma, truth.Gamma}, {"delta", got.Params.Delta, truth.Delta}} {
		if v, want := p[1].(float64), p[2].(float64); math.Abs(v-want) > 0.1*want {
			t.Errorf("%s learned %v, emulated %v", p[0], v, want)
		}
	}
	if r := got.Readiness(estimator.Thresholds{}, estimator.OperatingPoint{}); !r.Usable {
		t.Errorf("not usable after 80 minutes: %s", r.Message)
	}
	// As in vLLM, a request's time in service is its prefill time and the
	// latencies of its output tokens after the first.
	for pod, c := range prev {
		if d := c.itlSum + c.prefillSum; math.Abs(d-c.inferenceSum) > 1e-6*c.inferenceSum {
			t.Errorf("pod %s: inter-token latencies and prefill times sum to %v s, the inference time to %v s", pod, d, c.inferenceSum)
		}
	}
}
