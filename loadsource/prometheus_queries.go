package loadsource

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// The vLLM metrics the source reads, and the labels that name a group.
const (
	metricRequests     = "vllm:request_success_total"
	metricPromptTokens = "vllm:request_prompt_tokens"
	metricGenTokens    = "vllm:request_generation_tokens"
	metricTTFT         = "vllm:time_to_first_token_seconds"
	// metricITL is the per-step inter-token latency histogram as vLLM 0.11
	// and later name it; before 0.11 it was metricITLBefore011 (0.11 exports
	// both, later versions only the new name unless told to show hidden
	// metrics). The source reads the new name, else the old (itlRatio).
	metricITL            = "vllm:inter_token_latency_seconds"
	metricITLBefore011   = "vllm:time_per_output_token_seconds"
	labelNamespace       = "namespace"
	labelModelName       = "model_name"
	groupBy              = "sum by (" + labelNamespace + ", " + labelModelName + ")"
	maxBy                = "max by (" + labelNamespace + ", " + labelModelName + ")"
	queryRate            = "rate"
	queryPromptTokens    = "prompt_tokens"
	queryGenTokens       = "generation_tokens"
	queryTTFT            = "ttft"
	queryITL             = "itl"
	queryAge             = "age"
	queryWaiting         = "waiting"
	queryRetentionPrefix = "requests_in_"
)

// promQuery is one grouped PromQL query of a refresh.
type promQuery struct {
	// name says what the query reads (one of the query* constants).
	name   string
	promQL string
	// retention is set for "requests within the retention period" queries.
	retention time.Duration
}

// Queries returns the PromQL queries of one refresh with cfg in force (one
// that reads the per-pod windows, when PodWindows is set). Their number
// depends only on the config (one more per distinct retention period of an
// enabled scale-to-zero policy), never on the number of groups or VAs.
func (s *Prometheus) Queries(cfg *config.Config) []string {
	qs := s.refreshQueries(cfg, s.opts.PodWindows)
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.promQL
	}
	return out
}

func buildQueries(cfg *config.Config, window time.Duration) []promQuery {
	w := promDuration(window)
	ratio := func(metric string, scale string) string {
		return fmt.Sprintf("%s (rate(%s_sum[%s])) / %s (rate(%s_count[%s]))%s", groupBy, metric, w, groupBy, metric, w, scale)
	}
	qs := []promQuery{
		{name: queryRate, promQL: arrivalRate(window)},
		{name: queryPromptTokens, promQL: ratio(metricPromptTokens, "")},
		{name: queryGenTokens, promQL: ratio(metricGenTokens, "")},
		{name: queryTTFT, promQL: ratio(metricTTFT, " * 1000")},
		{name: queryITL, promQL: itlRatio(ratio)},
		// Instant queries return the evaluation time as the sample time, so
		// the age of the newest raw sample is computed in PromQL.
		{name: queryAge, promQL: fmt.Sprintf("time() - %s (timestamp(%s))", maxBy, metricRequests)},
		// The requests queued at the servers now: the backlog a plan drains.
		{name: queryWaiting, promQL: fmt.Sprintf("%s (%s)", groupBy, metricWaiting)},
	}
	for _, r := range retentions(cfg) {
		qs = append(qs, promQuery{
			name:      queryRetentionPrefix + promDuration(r),
			promQL:    fmt.Sprintf("%s (increase(%s[%s]))", groupBy, metricRequests, promDuration(r)),
			retention: r,
		})
	}
	return append(qs, gatewayQueries(cfg, window)...)
}

// arrivalRate is the rate at which requests reach the servers, req/s: those
// finished plus the growth of the servers' queues (arrivals = completions +
// Δ waiting). A server offered more than it can serve finishes requests at
// its throughput and queues the rest, so the completions alone cap the load
// at what the replicas already carry and scaling creeps up one plan at a
// time. The growth is the slope (deriv) of the model's whole queue over the
// window, not a sum of per-pod slopes: a pod that starts or goes has no
// slope of its own for the queue it brings or takes. Under capacity vLLM's
// queue stays empty and this is the completion rate; where no server
// exports the waiting gauge it is the completion rate too ("or").
func arrivalRate(window time.Duration) string {
	w := promDuration(window)
	completions := fmt.Sprintf("%s (rate(%s[%s]))", groupBy, metricRequests, w)
	growth := fmt.Sprintf("deriv((%s (%s))[%s:%s])", groupBy, metricWaiting, w, promDuration(subqueryStep(window)))
	return fmt.Sprintf("clamp_min(%s + %s, 0) or %s", completions, growth, completions)
}

// itlRatio is the mean inter-token latency, ms, read under vLLM's new name
// where a server exports it, else under the old one ("or" keeps the left
// side's series for every label set it has, so a server exporting both is
// read once).
func itlRatio(ratio func(metric, scale string) string) string {
	return ratio(metricITL, " * 1000") + " or " + ratio(metricITLBefore011, " * 1000")
}

// itlRate is the rate of the inter-token latencies' sum, by the grouping
// given, under either of vLLM's names (itlRatio).
func itlRate(by, window string) string {
	return fmt.Sprintf("%s (rate(%s_sum[%s])) or %s (rate(%s_sum[%s]))", by, metricITL, window, by, metricITLBefore011, window)
}

// retentions returns the distinct retention periods of the enabled
// scale-to-zero policies the config can resolve to: the default policy and
// the policy of each model entry, sorted.
func retentions(cfg *config.Config) []time.Duration {
	set := map[time.Duration]bool{}
	add := func(p config.ScaleToZeroPolicy) {
		if p.Enabled && p.Retention > 0 {
			set[p.Retention] = true
		}
	}
	// A model without an entry of its own resolves to the defaults.
	add(cfg.ScaleToZero.Resolve("", "", cfg.Operator.ScaleToZeroDefault))
	for ref := range cfg.ScaleToZero.Models {
		add(cfg.ScaleToZeroFor(ref.Namespace, ref.ModelID))
	}
	out := make([]time.Duration, 0, len(set))
	for r := range set {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// promDuration renders a duration as a PromQL range ("1m", "1m30s", "500ms").
func promDuration(d time.Duration) string { return model.Duration(d).String() }

// query runs the refresh's queries concurrently (at most
// MaxConcurrentQueries at once, each bounded by PROMETHEUS_QUERY_TIMEOUT)
// at evaluation time at, and turns the results into readings.
func (s *Prometheus) query(ctx context.Context, cfg *config.Config, at time.Time, stats *RefreshStats) *promSnapshot {
	pc := cfg.Operator.Prometheus
	if !pc.Enabled() {
		return &promSnapshot{at: at, err: fmt.Errorf("no Prometheus is configured: set %s", config.KeyPrometheusBaseURL)}
	}
	conn, err := s.connect(pc)
	if err != nil {
		return &promSnapshot{at: at, err: err}
	}
	readsPods := s.podsDue(at)
	queries := s.refreshQueries(cfg, readsPods)
	results := make([]model.Vector, len(queries))
	failed := make([]bool, len(queries))
	retentionErrs := make([]error, len(queries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.MaxConcurrentQueries)
	for i, q := range queries {
		g.Go(func() error {
			qctx, cancel := context.WithTimeout(gctx, pc.QueryTimeout)
			defer cancel()
			v, _, err := conn.api.Query(qctx, q.promQL, at, v1.WithTimeout(pc.QueryTimeout))
			if err == nil {
				vec, ok := v.(model.Vector)
				if !ok {
					err = fmt.Errorf("the result is a %s, not a vector", v.Type())
				}
				results[i] = vec
			}
			if err != nil {
				failed[i] = true
				s.metrics.queries.WithLabelValues(resultError).Inc()
				err = fmt.Errorf("querying Prometheus at %s (%s): %w", config.RedactURL(pc.BaseURL), q.name, err)
				if q.retention > 0 {
					// Issue 12: a failed retention query costs only the groups
					// that use that retention their reading, not every group.
					retentionErrs[i] = err
					return nil
				}
				return err
			}
			s.metrics.queries.WithLabelValues(resultSuccess).Inc()
			return nil
		})
	}
	err = g.Wait()
	stats.Queries = len(queries)
	for _, f := range failed {
		if f {
			stats.Failed++
		}
	}
	if err != nil {
		return &promSnapshot{at: at, err: err}
	}
	byName := map[string]model.Vector{}
	for i, q := range queries {
		byName[q.name] = results[i]
	}
	snap := &promSnapshot{at: at, groups: evaluate(byName, pc.Staleness, at), inRetention: map[time.Duration]map[modelgroup.Key]float64{}}
	for i, q := range queries {
		if q.retention > 0 && retentionErrs[i] != nil {
			snap.failRetention(q.retention, retentionErrs[i])
			continue
		}
		if q.retention > 0 {
			m := map[modelgroup.Key]float64{}
			for key, v := range byGroup(results[i]) {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					m[key] = math.Max(v, 0)
				}
			}
			snap.inRetention[q.retention] = m
		}
	}
	applyGateway(snap, byName, cfg, s.opts.RateWindow)
	if readsPods {
		s.pods = podWindows{at: at, byGroup: podsByGroup(evaluatePods(byName, s.opts.ProfileWindow))}
	}
	snap.pods = s.pods
	return snap
}

// byGroup indexes a grouped result by model group; samples without a
// namespace or model_name label are dropped.
func byGroup(vec model.Vector) map[modelgroup.Key]float64 {
	out := make(map[modelgroup.Key]float64, len(vec))
	for _, s := range vec {
		key := modelgroup.Key{Namespace: string(s.Metric[labelNamespace]), ModelID: string(s.Metric[labelModelName])}
		if key.Namespace == "" || key.ModelID == "" {
			continue
		}
		out[key] = float64(s.Value)
	}
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// evaluate turns the query results into one reading per group with an
// arrival rate series. The fail-safe rules: a non-finite rate, or unknown
// token averages while requests arrive, is MetricsMissing; a newest sample
// older than staleness, or none within the lookback, is MetricsStale. A
// missing latency is 0 (unknown), which the model does not depend on.
func evaluate(results map[string]model.Vector, staleness time.Duration, at time.Time) map[modelgroup.Key]promGroup {
	rates := byGroup(results[queryRate])
	prompt := byGroup(results[queryPromptTokens])
	gen := byGroup(results[queryGenTokens])
	ttft := byGroup(results[queryTTFT])
	itl := byGroup(results[queryITL])
	ages := byGroup(results[queryAge])
	waiting := byGroup(results[queryWaiting])

	out := make(map[modelgroup.Key]promGroup, len(rates))
	for key, rate := range rates {
		missing := func(format string, args ...any) {
			out[key] = promGroup{reason: llmdv1alpha1.ConditionReasonMetricsMissing, message: fmt.Sprintf(format, args...)}
		}
		stale := func(format string, args ...any) {
			out[key] = promGroup{reason: llmdv1alpha1.ConditionReasonMetricsStale, message: fmt.Sprintf(format, args...)}
		}
		age, hasAge := ages[key]
		switch {
		case !finite(rate) || rate < 0:
			missing("the arrival rate of %s is %v", key, rate)
			continue
		case !hasAge:
			stale("%s has no current sample (its targets are down or stopped reporting)", metricRequests)
			continue
		case !finite(age) || age > staleness.Seconds():
			stale("the newest sample of %s is %.0fs old, beyond the staleness limit of %s (%s)",
				metricRequests, age, staleness, config.KeyPrometheusStaleness)
			continue
		}
		load := modelgroup.Load{ArrivalRate: rate, ObservedAt: at}
		in, hasIn := prompt[key]
		o, hasOut := gen[key]
		if rate > 0 {
			if !hasIn || !finite(in) || in < 0 {
				missing("the average prompt tokens (%s) are unknown while requests arrive", metricPromptTokens)
				continue
			}
			if !hasOut || !finite(o) || o < 0 {
				missing("the average generation tokens (%s) are unknown while requests arrive", metricGenTokens)
				continue
			}
			// A request yields at least one token; fewer on average comes
			// from aborted requests and would make the model invalid.
			load.AvgInputTokens, load.AvgOutputTokens = in, math.Max(o, 1)
		}
		if v := ttft[key]; finite(v) && v > 0 {
			load.ObservedTTFT = v
		}
		if v := itl[key]; finite(v) && v > 0 {
			load.ObservedITL = v
		}
		if v := waiting[key]; finite(v) && v > 0 {
			load.ServerWaiting = v
		}
		out[key] = promGroup{load: load, available: true, reason: llmdv1alpha1.ConditionReasonMetricsFound}
	}
	return out
}
