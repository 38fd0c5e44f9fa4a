package loadsource

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// podSample is a per-pod sample; pod "p/e" is engine e of pod p.
func podSample(ns, m, pod string, v float64) *model.Sample {
	metric := model.Metric{labelNamespace: model.LabelValue(ns), labelModelName: model.LabelValue(m), labelPod: model.LabelValue(pod)}
	if p, engine, ok := strings.Cut(pod, "/"); ok {
		metric[labelPod], metric[labelEngine] = model.LabelValue(p), model.LabelValue(engine)
	}
	return &model.Sample{Metric: metric, Value: model.SampleValue(v)}
}

func TestPodQueriesAreFixed(t *testing.T) {
	qs := podQueries(5 * time.Minute)
	if len(qs) != 9 {
		t.Fatalf("%d per-pod queries, want 9", len(qs))
	}
	// In service: the time spent decoding (per-step inter-token latencies,
	// under either of vLLM's names) and in prefill, per second.
	// Per engine as well as per pod: each engine of a data-parallel vLLM
	// is a server of its own.
	want := "(sum by (namespace, model_name, pod, engine) (rate(vllm:inter_token_latency_seconds_sum[5m])) or " +
		"sum by (namespace, model_name, pod, engine) (rate(vllm:time_per_output_token_seconds_sum[5m]))) + " +
		"sum by (namespace, model_name, pod, engine) (rate(vllm:request_prefill_time_seconds_sum[5m]))"
	// The running gauge's variance over the scrapes, over n − 1: with a
	// single scrape 0/0, NaN, so no variance rather than a zero one.
	wantVar := "sum by (namespace, model_name, pod, engine) (stdvar_over_time(vllm:num_requests_running[5m]) * " +
		"count_over_time(vllm:num_requests_running[5m]) / (count_over_time(vllm:num_requests_running[5m]) - 1))"
	for _, w := range []string{want, wantVar} {
		found := false
		for _, q := range qs {
			found = found || q.promQL == w
		}
		if !found {
			t.Errorf("no query %q in %+v", w, qs)
		}
	}
}

func TestEvaluatePods(t *testing.T) {
	a := PodKey{Key: modelgroup.Key{Namespace: "ns", ModelID: "m"}, Pod: "a"}
	vec := func(vals map[string]float64) model.Vector {
		var v model.Vector
		for pod, x := range vals {
			v = append(v, podSample("ns", "m", pod, x))
		}
		return v
	}
	results := map[string]model.Vector{
		// pod a: everything; b: V0 vLLM (no prefill/inference histograms);
		// c: idle; d: NaN latency; e: no batch size at all; f: two engines.
		queryPodRequests:  append(vec(map[string]float64{"a": 300, "b": 60, "c": 0, "d": 10, "e": 10, "f/0": 120, "f/1": 60}), podSample("", "m", "x", 5)),
		queryPodTTFT:      vec(map[string]float64{"a": 120, "b": 90, "d": math.NaN(), "e": 50, "f/0": 100, "f/1": 80}),
		queryPodITL:       vec(map[string]float64{"a": 25, "b": 20, "d": 20, "e": 20, "f/0": 30, "f/1": 24}),
		queryPodPrompt:    vec(map[string]float64{"a": 512, "b": 256, "d": 256, "e": 256, "f/0": 300, "f/1": 310}),
		queryPodPrefill:   vec(map[string]float64{"a": 80, "f/0": 70, "f/1": 60}),
		queryPodInService: vec(map[string]float64{"a": 12.5, "f/0": 20, "f/1": 10}),
		queryPodRunning:   vec(map[string]float64{"a": 12, "b": 4, "d": 4, "f/0": 19, "f/1": 9}),
		queryPodWaiting:   vec(map[string]float64{"a": 0.5, "b": 0, "f/0": 1, "f/1": 0}),
		// a: a spread; f/0: one scrape (NaN); f/1: a steady batch.
		queryPodRunningVar: vec(map[string]float64{"a": 2.5, "f/0": math.NaN(), "f/1": 0}),
	}
	got := evaluatePods(results, time.Minute)
	want := map[PodKey]estimator.Window{
		a:                                   {Requests: 300, RequestRate: 5, TTFT: 120, ITL: 25, InputTokens: 512, Running: 12, Waiting: 0.5, PrefillTime: 80, InService: 12.5, RunningVar: 2.5, HasRunningVar: true},
		{Key: a.Key, Pod: "b"}:              {Requests: 60, RequestRate: 1, TTFT: 90, ITL: 20, InputTokens: 256, Running: 4},
		{Key: a.Key, Pod: "f", Engine: "0"}: {Requests: 120, RequestRate: 2, TTFT: 100, ITL: 30, InputTokens: 300, Running: 19, Waiting: 1, PrefillTime: 70, InService: 20},
		{Key: a.Key, Pod: "f", Engine: "1"}: {Requests: 60, RequestRate: 1, TTFT: 80, ITL: 24, InputTokens: 310, Running: 9, PrefillTime: 60, InService: 10, HasRunningVar: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for k, w := range got {
		if _, _, err := estimator.FromWindow(w, 256); err != nil {
			t.Errorf("pod %s: the window is not accepted by the estimator: %v", k.Pod, err)
		}
	}
}

// A pod's window is named by the pod; an engine's by the pod and the engine,
// so that the controller still finds the VA by the pod's name.
func TestPodsByGroupNamesServers(t *testing.T) {
	g := modelgroup.Key{Namespace: "ns", ModelID: "m"}
	w := estimator.Window{Requests: 1}
	got := podsByGroup(map[PodKey]estimator.Window{
		{Key: g, Pod: "dep-a"}: w, {Key: g, Pod: "dep-b", Engine: "0"}: w, {Key: g, Pod: "dep-b", Engine: "1"}: w,
	})
	want := map[modelgroup.Key]map[string]estimator.Window{g: {"dep-a": w, "dep-b/0": w, "dep-b/1": w}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
