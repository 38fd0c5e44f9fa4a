package loadsource

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Queries of the gateway signal, the pods reporting and the coverage of the
// retention window. Their number depends on the config only.
const (
	queryGatewayRate     = "gateway_rate"
	queryGatewayQueue    = "gateway_queue"
	queryPods            = "pods"
	queryCoveragePrefix  = "first_sample_in_"
	queryGatewayInPrefix = "gateway_requests_in_"
	minSubqueryStep      = time.Second
)

// gatewayExpr sums expr(name) by group for each name, the model label mapped
// onto model_name, joined with "or": per group, the first name with a series
// wins (llm-d exports the new and the old names of its metrics).
func gatewayExpr(names []string, label string, expr func(name string) string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s (label_replace(%s, %q, \"$1\", %q, \"(.+)\"))", groupBy, expr(n), labelModelName, label)
	}
	return strings.Join(parts, " or ")
}

// subqueryStep is the step of the subqueries (the first sample in a
// retention window, the slope of a model's queue): a quarter of the rate
// window, at least 1s.
func subqueryStep(window time.Duration) time.Duration {
	return max(window/4, minSubqueryStep)
}

// gatewayQueries are appended to the vLLM queries of a refresh.
func gatewayQueries(cfg *config.Config, window time.Duration) []promQuery {
	gw := cfg.Operator.Gateway
	w := promDuration(window)
	qs := []promQuery{
		{name: queryGatewayRate, promQL: gatewayExpr(gw.RequestMetricNames(), gw.Label(),
			func(n string) string { return fmt.Sprintf("rate(%s[%s])", n, w) })},
		{name: queryGatewayQueue, promQL: gatewayExpr(gw.QueueMetricNames(), gw.Label(),
			func(n string) string { return n })},
		// The pods whose metrics Prometheus has now. vLLM has several series
		// of the counter per pod (one per finished_reason, and per engine):
		// pods are counted, each its pod label or, without one, its scrape
		// target.
		{name: queryPods, promQL: fmt.Sprintf("count by (%s, %s) (count by (%s, %s, %s, %s) (%s))",
			labelNamespace, labelModelName, labelNamespace, labelModelName, labelPod, labelInstance, metricRequests)},
	}
	step := promDuration(subqueryStep(window))
	for _, r := range retentions(cfg) {
		rd := promDuration(r)
		qs = append(qs,
			promQuery{name: queryCoveragePrefix + rd, promQL: fmt.Sprintf("min by (%s, %s) (min_over_time(timestamp(%s)[%s:%s]))",
				labelNamespace, labelModelName, metricRequests, rd, step)},
			promQuery{name: queryGatewayInPrefix + rd, promQL: gatewayExpr(gw.RequestMetricNames(), gw.Label(),
				func(n string) string { return fmt.Sprintf("increase(%s[%s])", n, rd) })},
		)
	}
	return qs
}

// applyGateway adds to the readings of a refresh what the gateway and the
// coverage queries say:
//   - the arrival rate is the gateway's when it has the model (it counts the
//     requests no pod has served yet), the vLLM one otherwise;
//   - Waiting, the gateway's queue, and Pods, the pods reporting;
//   - a model with gateway series and no vLLM series (no pods) becomes a
//     reading that is not available (MetricsMissing) but carries the demand;
//   - the requests in each retention window count the gateway's too, and
//     dataSince says from when the data covers the window.
func applyGateway(snap *promSnapshot, results map[string]model.Vector, cfg *config.Config, window time.Duration) {
	rates := byGroup(results[queryGatewayRate])
	queues := byGroup(results[queryGatewayQueue])
	pods := byGroup(results[queryPods])
	demand := func(key modelgroup.Key) (rate, queue float64) {
		if v := rates[key]; finite(v) && v > 0 {
			rate = v
		}
		if v := queues[key]; finite(v) && v > 0 {
			queue = v
		}
		return rate, queue
	}
	for key, g := range snap.groups {
		rate, queue := demand(key)
		g.load.Waiting = queue
		if n := pods[key]; finite(n) && n > 0 {
			g.load.Pods = int(n)
		}
		if _, hasGateway := rates[key]; hasGateway && g.available {
			g.load.ArrivalRate = rate
			if rate > 0 && g.load.AvgOutputTokens < 1 {
				g = promGroup{load: g.load, reason: llmdv1alpha1.ConditionReasonMetricsMissing, message: fmt.Sprintf(
					"%.3g req/s arrive at the gateway but no pod reports the request shape (%s) yet", rate, metricGenTokens)}
			}
		}
		snap.groups[key] = g
	}
	for _, m := range []map[modelgroup.Key]float64{rates, queues} {
		for key := range m {
			if _, ok := snap.groups[key]; ok {
				continue
			}
			rate, queue := demand(key)
			snap.groups[key] = promGroup{
				load:   modelgroup.Load{ArrivalRate: rate, Waiting: queue, ObservedAt: snap.at},
				reason: llmdv1alpha1.ConditionReasonMetricsMissing,
				message: fmt.Sprintf("no pod reports %s for the model; the gateway sees %.3g req/s and %.0f waiting",
					metricRequests, rate, queue),
			}
		}
	}

	snap.dataSince = map[time.Duration]map[modelgroup.Key]time.Time{}
	tolerance := subqueryStep(window)
	for _, r := range retentions(cfg) {
		rd := promDuration(r)
		if counts := snap.inRetention[r]; counts != nil {
			for key, v := range byGroup(results[queryGatewayInPrefix+rd]) {
				if _, ok := counts[key]; ok && finite(v) && v > 0 {
					counts[key] += v
				}
			}
		}
		since := map[modelgroup.Key]time.Time{}
		windowStart := snap.at.Add(-r)
		for key, v := range byGroup(results[queryCoveragePrefix+rd]) {
			if !finite(v) {
				continue
			}
			first := time.UnixMilli(int64(math.Round(v * 1000)))
			if !first.After(windowStart.Add(tolerance)) {
				first = windowStart
			}
			since[key] = first
		}
		snap.dataSince[r] = since
	}
}

// dataSinceOf is when the data behind a group's requests in the retention
// window begins; without any sample of the group in the window, the
// evaluation time (nothing is proven yet).
func (p *promSnapshot) dataSinceOf(key modelgroup.Key, retention time.Duration) time.Time {
	if t, ok := p.dataSince[retention][key]; ok {
		return t
	}
	return p.at
}
