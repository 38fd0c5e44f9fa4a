package loadsource

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/common/model"

	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func podSample(ns, m, pod string, v float64) *model.Sample {
	return &model.Sample{Metric: model.Metric{labelNamespace: model.LabelValue(ns), labelModelName: model.LabelValue(m), labelPod: model.LabelValue(pod)}, Value: model.SampleValue(v)}
}

func TestPodQueriesAreFixed(t *testing.T) {
	qs := podQueries(5 * time.Minute)
	if len(qs) != 8 {
		t.Fatalf("%d per-pod queries, want 8", len(qs))
	}
	// In service: the time spent decoding (per-step inter-token latencies,
	// under either of vLLM's names) and in prefill, per second.
	want := "(sum by (namespace, model_name, pod) (rate(vllm:inter_token_latency_seconds_sum[5m])) or " +
		"sum by (namespace, model_name, pod) (rate(vllm:time_per_output_token_seconds_sum[5m]))) + " +
		"sum by (namespace, model_name, pod) (rate(vllm:request_prefill_time_seconds_sum[5m]))"
	found := false
	for _, q := range qs {
		found = found || q.promQL == want
	}
	if !found {
		t.Errorf("no query %q in %+v", want, qs)
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
		// c: idle; d: NaN latency; e: no batch size at all.
		queryPodRequests:  append(vec(map[string]float64{"a": 300, "b": 60, "c": 0, "d": 10, "e": 10}), podSample("", "m", "x", 5)),
		queryPodTTFT:      vec(map[string]float64{"a": 120, "b": 90, "d": math.NaN(), "e": 50}),
		queryPodITL:       vec(map[string]float64{"a": 25, "b": 20, "d": 20, "e": 20}),
		queryPodPrompt:    vec(map[string]float64{"a": 512, "b": 256, "d": 256, "e": 256}),
		queryPodPrefill:   vec(map[string]float64{"a": 80}),
		queryPodInService: vec(map[string]float64{"a": 12.5}),
		queryPodRunning:   vec(map[string]float64{"a": 12, "b": 4, "d": 4}),
		queryPodWaiting:   vec(map[string]float64{"a": 0.5, "b": 0}),
	}
	got := evaluatePods(results, time.Minute)
	want := map[PodKey]estimator.Window{
		a:                      {Requests: 300, RequestRate: 5, TTFT: 120, ITL: 25, InputTokens: 512, Running: 12, Waiting: 0.5, PrefillTime: 80, InService: 12.5},
		{Key: a.Key, Pod: "b"}: {Requests: 60, RequestRate: 1, TTFT: 90, ITL: 20, InputTokens: 256, Running: 4},
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
