package emulator

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// How the emulator labels and names vLLM's series, as vLLM versions do.

// vLLM counts finished requests by why they finished, each reason's series
// present from the start; the emulated requests all stop by themselves.
const (
	labelFinishedReason = "finished_reason"
	finishedStop        = "stop"
)

var finishedReasons = []string{finishedStop, "length", "abort"}

// maxEnginesPerPod bounds WithEnginesPerPod (vLLM's data parallelism runs
// one engine per GPU group of a node or a few).
const maxEnginesPerPod = 64

// server is the label values of a pod's engine (of the pod, without the
// engine label).
func (e *Emulator) server(k modelKey, p pod, engine int) []string {
	if e.engines == 0 {
		return []string{k.namespace, k.model, p.name}
	}
	return []string{k.namespace, k.model, p.name, strconv.Itoa(engine)}
}

// servers are the label values of the servers of a pod: the pod, or each of
// its engines.
func (e *Emulator) servers(k modelKey, p pod) [][]string {
	out := make([][]string, e.serversPerPod())
	for i := range out {
		out[i] = e.server(k, p, i)
	}
	return out
}

// podSeries exposes a new pod's series at zero (present) or deletes a
// removed pod's: the request counter per finished reason, and every other
// per-server series.
func (e *Emulator) podSeries(k modelKey, p pod, present bool) {
	series := func(v *prometheus.MetricVec, lv []string) {
		if !present {
			v.DeleteLabelValues(lv...)
		} else if _, err := v.GetMetricWithLabelValues(lv...); err != nil {
			panic(err) // the label values are the vector's own: a bug
		}
	}
	for _, lv := range e.servers(k, p) {
		for _, reason := range finishedReasons {
			series(e.requests.MetricVec, slices.Concat(lv, []string{reason}))
		}
		for _, h := range append(e.histograms(), e.serving.prefill, e.serving.inference) {
			series(h.MetricVec, lv)
		}
		series(e.serving.running.MetricVec, lv)
		series(e.serving.waiting.MetricVec, lv)
	}
}

// serversPerPod is the number of servers a pod runs.
func (e *Emulator) serversPerPod() int { return max(e.engines, 1) }

// histograms are the per-pod histograms of the request shape and latencies.
func (e *Emulator) histograms() []*prometheus.HistogramVec {
	return append([]*prometheus.HistogramVec{e.prompt, e.generation, e.ttft}, e.itl...)
}

// validITLNames accepts one or both of vLLM's names of the inter-token
// latency histogram, each once.
func validITLNames(names []string) error {
	seen := map[string]bool{}
	for _, n := range names {
		if (n != MetricITL && n != MetricITLBefore011) || seen[n] {
			return fmt.Errorf("inter-token latency names must be %s, %s or both, each once; got %q", MetricITL, MetricITLBefore011, names)
		}
		seen[n] = true
	}
	if len(names) == 0 {
		return fmt.Errorf("at least one inter-token latency name is needed (%s or %s)", MetricITL, MetricITLBefore011)
	}
	return nil
}
