package loadsource

import (
	"fmt"
	"math"
	"time"

	"github.com/prometheus/common/model"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// The per-pod series the profile estimator reads (docs/learned-profiles.md).
// vllm:request_prefill_time_seconds comes with vLLM V1; without it the
// gauges stand in.
const (
	metricRunning     = "vllm:num_requests_running"
	metricWaiting     = "vllm:num_requests_waiting"
	metricPrefillTime = "vllm:request_prefill_time_seconds"
	labelPod          = "pod"
	labelInstance     = "instance" // Prometheus's scrape target
	// labelEngine is vLLM's engine index (V1): a data-parallel server runs
	// several engines in one pod, each with its own batch, queue and
	// steps, so each is a server of its own to the estimator.
	labelEngine = "engine"
	podGroupBy  = "sum by (" + labelNamespace + ", " + labelModelName + ", " + labelPod + ", " + labelEngine + ")"

	queryPodRequests  = "pod_requests"
	queryPodTTFT      = "pod_ttft"
	queryPodITL       = "pod_itl"
	queryPodPrompt    = "pod_prompt_tokens"
	queryPodPrefill   = "pod_prefill_time"
	queryPodInService = "pod_in_service"
	queryPodRunning   = "pod_running"
	// queryPodRunningVar is the running gauge's variance over the window's
	// scrapes, over n − 1 (NaN, so absent, with one scrape).
	queryPodRunningVar = "pod_running_var"
	queryPodWaiting    = "pod_waiting"
)

// PodKey names one server of a model group: a pod, or one engine of a
// data-parallel pod.
type PodKey struct {
	modelgroup.Key
	Pod    string
	Engine string // empty when the series have no engine label
}

// server is the server's name in PodWindows: the pod's, with "/engine"
// for the engines vLLM labels.
func (k PodKey) server() string {
	if k.Engine == "" {
		return k.Pod
	}
	return k.Pod + "/" + k.Engine
}

// podQueries are the grouped per-pod queries of one estimator window: nine,
// whatever the number of pods, groups or VAs.
func podQueries(window time.Duration) []promQuery {
	w := promDuration(window)
	ratio := func(metric, scale string) string {
		return fmt.Sprintf("%s (rate(%s_sum[%s])) / %s (rate(%s_count[%s]))%s", podGroupBy, metric, w, podGroupBy, metric, w, scale)
	}
	return []promQuery{
		{name: queryPodRequests, promQL: fmt.Sprintf("%s (increase(%s_count[%s]))", podGroupBy, metricTTFT, w)},
		{name: queryPodTTFT, promQL: ratio(metricTTFT, " * 1000")},
		{name: queryPodITL, promQL: itlRatio(ratio)},
		{name: queryPodPrompt, promQL: ratio(metricPromptTokens, "")},
		{name: queryPodPrefill, promQL: ratio(metricPrefillTime, " * 1000")},
		// The mean number in service over the window: the rate of the time
		// spent decoding (the inter-token latencies, observed per step) and
		// in prefill.
		{name: queryPodInService, promQL: fmt.Sprintf("(%s) + %s (rate(%s_sum[%s]))", itlRate(podGroupBy, w), podGroupBy, metricPrefillTime, w)},
		{name: queryPodRunning, promQL: fmt.Sprintf("%s (avg_over_time(%s[%s]))", podGroupBy, metricRunning, w)},
		// The batch a token sees is size-biased: the estimator needs the
		// spread of the batch as well as its mean (estimator.FromWindow).
		{name: queryPodRunningVar, promQL: fmt.Sprintf("%s (stdvar_over_time(%s[%s]) * count_over_time(%s[%s]) / (count_over_time(%s[%s]) - 1))",
			podGroupBy, metricRunning, w, metricRunning, w, metricRunning, w)},
		{name: queryPodWaiting, promQL: fmt.Sprintf("%s (avg_over_time(%s[%s]))", podGroupBy, metricWaiting, w)},
	}
}

// byPod indexes a per-pod result; samples without a namespace, model_name
// or pod label, or with a non-finite or negative value, are dropped (an
// unknown value is never a zero).
func byPod(vec model.Vector) map[PodKey]float64 {
	out := make(map[PodKey]float64, len(vec))
	for _, s := range vec {
		k := PodKey{Key: modelgroup.Key{Namespace: string(s.Metric[labelNamespace]), ModelID: string(s.Metric[labelModelName])},
			Pod: string(s.Metric[labelPod]), Engine: string(s.Metric[labelEngine])}
		v := float64(s.Value)
		if k.Namespace == "" || k.ModelID == "" || k.Pod == "" || !finite(v) || v < 0 {
			continue
		}
		out[k] = v
	}
	return out
}

// evaluatePods turns the per-pod results into one estimator window per pod
// that finished requests in the window and reported their latencies; pods
// without them are left out (nothing to learn), as are pods reporting no
// batch size at all (neither the inference-time counter nor the running
// gauge).
func evaluatePods(results map[string]model.Vector, window time.Duration) map[PodKey]estimator.Window {
	reqs := byPod(results[queryPodRequests])
	ttft, itl := byPod(results[queryPodTTFT]), byPod(results[queryPodITL])
	prompt, prefill := byPod(results[queryPodPrompt]), byPod(results[queryPodPrefill])
	inService, running, waiting := byPod(results[queryPodInService]), byPod(results[queryPodRunning]), byPod(results[queryPodWaiting])
	runningVar := byPod(results[queryPodRunningVar])
	out := map[PodKey]estimator.Window{}
	secs := window.Seconds()
	for k, n := range reqs {
		t, hasTTFT := ttft[k]
		i, hasITL := itl[k]
		in, hasIn := prompt[k]
		ls, hasLs := inService[k]
		run, hasRun := running[k]
		if n <= 0 || !hasTTFT || !hasITL || !hasIn || (!hasLs && !hasRun) || !(secs > 0) {
			continue
		}
		w := estimator.Window{Requests: n, RequestRate: n / secs, TTFT: t, ITL: i, InputTokens: in,
			Running: run, Waiting: waiting[k], PrefillTime: prefill[k], InService: ls}
		w.RunningVar, w.HasRunningVar = runningVar[k]
		if math.IsNaN(w.RequestRate) {
			continue
		}
		out[k] = w
	}
	return out
}

// refreshQueries are the queries of one refresh: the grouped load queries,
// and the per-pod ones when the refresh reads them.
func (s *Prometheus) refreshQueries(cfg *config.Config, pods bool) []promQuery {
	// Issue 12: only the watched namespaces are asked about.
	qs := scopeQueries(buildQueries(cfg, s.opts.RateWindow), s.opts.WatchNamespaces)
	if pods {
		qs = append(qs, podQueries(s.opts.ProfileWindow)...)
	}
	return qs
}

// podWindows are the per-pod windows of one refresh, by group, and the time
// they end.
type podWindows struct {
	at      time.Time
	byGroup map[modelgroup.Key]map[string]estimator.Window
}

// podsDue says whether a refresh at `at` reads the per-pod windows: when
// PodWindows is set and a whole ProfileWindow has passed since the last
// read (a twentieth early, for the jitter of the refresh ticks), so that
// consecutive windows do not overlap.
func (s *Prometheus) podsDue(at time.Time) bool {
	if !s.opts.PodWindows {
		return false
	}
	w := s.opts.ProfileWindow
	return s.pods.at.IsZero() || at.Sub(s.pods.at) >= w-w/20
}

func podsByGroup(windows map[PodKey]estimator.Window) map[modelgroup.Key]map[string]estimator.Window {
	out := map[modelgroup.Key]map[string]estimator.Window{}
	for k, w := range windows {
		if out[k.Key] == nil {
			out[k.Key] = map[string]estimator.Window{}
		}
		out[k.Key][k.server()] = w
	}
	return out
}

// PodWindows returns the per-pod windows of a group read by the last
// refresh that read them (server → window: the pod's name, with "/engine"
// for each engine of a vLLM that labels them) and the time they start and
// end; nil when PodWindows is off, the last refresh failed or no pod of the
// group reported. The same windows are answered until the next ones are
// read: the caller takes a window end once.
func (s *Prometheus) PodWindows(key modelgroup.Key) (windows map[string]estimator.Window, start, end time.Time) {
	snap := s.snap.Load()
	if snap == nil || snap.err != nil || snap.pods.byGroup == nil {
		return nil, time.Time{}, time.Time{}
	}
	return snap.pods.byGroup[key], snap.pods.at.Add(-s.opts.ProfileWindow), snap.pods.at
}
