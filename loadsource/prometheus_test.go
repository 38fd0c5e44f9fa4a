package loadsource

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

var (
	groupA = modelgroup.Key{Namespace: "ns", ModelID: "a"}
	groupB = modelgroup.Key{Namespace: "ns", ModelID: "b"}
)

// newTestSource returns a source on cfg with a private metrics registry.
func newTestSource(t *testing.T, cfg *config.Config) (*Prometheus, *staticConfig, *prometheus.Registry) {
	t.Helper()
	src := &staticConfig{}
	src.p.Store(cfg)
	reg := prometheus.NewRegistry()
	s, err := NewPrometheus(PrometheusOptions{Config: src, Registerer: reg, Now: newTestClock().now})
	if err != nil {
		t.Fatal(err)
	}
	return s, src, reg
}

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock { return &testClock{t: time.Now()} }

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// skip moves the clock of a test source forward.
func skip(s *Prometheus, d time.Duration) {
	now := s.opts.Now()
	s.opts.Now = func() time.Time { return now.Add(d) }
}

func refresh(t *testing.T, s *Prometheus) RefreshStats {
	t.Helper()
	stats, err := s.Refresh(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// drain returns the groups sent on Changes so far, sorted.
func drain(s *Prometheus) []modelgroup.Key {
	var keys []modelgroup.Key
	for {
		select {
		case e := <-s.Changes():
			keys = append(keys, e.Object)
		default:
			slices.SortFunc(keys, func(a, b modelgroup.Key) int { return strings.Compare(a.String(), b.String()) })
			return keys
		}
	}
}

func expectReason(t *testing.T, r modelgroup.LoadReading, available bool, reason string) {
	t.Helper()
	if r.Available != available || r.Reason != reason {
		t.Fatalf("reading = available %v reason %q (%s), want available %v reason %q", r.Available, r.Reason, r.Message, available, reason)
	}
}

func TestPrometheusReadsTheLoadWithAFixedNumberOfQueries(t *testing.T) {
	cfg := testConfig("", func(c *config.Config) {
		c.Operator.ScaleToZeroDefault = config.ScaleToZeroPolicy{Enabled: true, Retention: 10 * time.Minute}
		c.ScaleToZero.Models = map[config.ModelRef]config.ScaleToZeroOverride{
			{ModelID: "b"}: {Retention: 30 * time.Second},
			// Disabled: its retention is never queried.
			{ModelID: "c"}: {EnabledSet: true, Enabled: false, Retention: 5 * time.Minute},
			// Same retention as b: one query serves both.
			{Namespace: "other", ModelID: "d"}: {Retention: 30 * time.Second},
		}
	})
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)

	want := []string{
		// Completions plus the growth of the servers' queues, else completions.
		`clamp_min(sum by (namespace, model_name) (rate(vllm:request_success_total[1m])) + deriv((sum by (namespace, model_name) (vllm:num_requests_waiting))[1m:15s]), 0) or ` +
			`sum by (namespace, model_name) (rate(vllm:request_success_total[1m]))`,
		`sum by (namespace, model_name) (rate(vllm:request_prompt_tokens_sum[1m])) / sum by (namespace, model_name) (rate(vllm:request_prompt_tokens_count[1m]))`,
		`sum by (namespace, model_name) (rate(vllm:request_generation_tokens_sum[1m])) / sum by (namespace, model_name) (rate(vllm:request_generation_tokens_count[1m]))`,
		`sum by (namespace, model_name) (rate(vllm:time_to_first_token_seconds_sum[1m])) / sum by (namespace, model_name) (rate(vllm:time_to_first_token_seconds_count[1m])) * 1000`,
		// The inter-token latency under vLLM's name since 0.11, else the one before.
		`sum by (namespace, model_name) (rate(vllm:inter_token_latency_seconds_sum[1m])) / sum by (namespace, model_name) (rate(vllm:inter_token_latency_seconds_count[1m])) * 1000 or ` +
			`sum by (namespace, model_name) (rate(vllm:time_per_output_token_seconds_sum[1m])) / sum by (namespace, model_name) (rate(vllm:time_per_output_token_seconds_count[1m])) * 1000`,
		`time() - max by (namespace, model_name) (timestamp(vllm:request_success_total))`,
		// The servers' queues now: the backlog a plan drains.
		`sum by (namespace, model_name) (vllm:num_requests_waiting)`,
		`sum by (namespace, model_name) (increase(vllm:request_success_total[30s]))`,
		`sum by (namespace, model_name) (increase(vllm:request_success_total[10m]))`,
		// The gateway, the pods reporting and the coverage of each retention window (prometheus_gateway.go).
		`sum by (namespace, model_name) (label_replace(rate(llm_d_epp_request_total[1m]), "model_name", "$1", "target_model_name", "(.+)")) or sum by (namespace, model_name) (label_replace(rate(inference_objective_request_total[1m]), "model_name", "$1", "target_model_name", "(.+)"))`,
		`sum by (namespace, model_name) (label_replace(llm_d_epp_flow_control_queue_size, "model_name", "$1", "target_model_name", "(.+)")) or sum by (namespace, model_name) (label_replace(inference_extension_flow_control_queue_size, "model_name", "$1", "target_model_name", "(.+)"))`,
		`count by (namespace, model_name) (count by (namespace, model_name, pod, instance) (vllm:request_success_total))`,
		`min by (namespace, model_name) (min_over_time(timestamp(vllm:request_success_total)[30s:15s]))`,
		`sum by (namespace, model_name) (label_replace(increase(llm_d_epp_request_total[30s]), "model_name", "$1", "target_model_name", "(.+)")) or sum by (namespace, model_name) (label_replace(increase(inference_objective_request_total[30s]), "model_name", "$1", "target_model_name", "(.+)"))`,
		`min by (namespace, model_name) (min_over_time(timestamp(vllm:request_success_total)[10m:15s]))`,
		`sum by (namespace, model_name) (label_replace(increase(llm_d_epp_request_total[10m]), "model_name", "$1", "target_model_name", "(.+)")) or sum by (namespace, model_name) (label_replace(increase(inference_objective_request_total[10m]), "model_name", "$1", "target_model_name", "(.+)"))`,
	}
	if got := s.Queries(cfg); !slices.Equal(got, want) {
		t.Fatalf("queries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	fake.setGroup(groupA, 12.5, 512, 128)
	fake.put(queryRetentionPrefix+"10m", groupA, 4000)
	fake.put(queryRetentionPrefix+"30s", groupA, 7)
	fake.put(queryWaiting, groupA, 40)
	stats := refresh(t, s)
	if stats.Queries != len(want) || fake.requests.Load() != int64(len(want)) || stats.Err != nil || stats.Groups != 1 {
		t.Fatalf("one group: stats %+v, %d requests; want %d queries", stats, fake.requests.Load(), len(want))
	}
	r := s.Load(context.Background(), groupA, 10*time.Minute)
	expectReason(t, r, true, llmdv1alpha1.ConditionReasonMetricsFound)
	l := r.Load
	if l.ArrivalRate != 12.5 || l.AvgInputTokens != 512 || l.AvgOutputTokens != 128 || l.ObservedTTFT != 120 || l.ObservedITL != 15 || l.ServerWaiting != 40 {
		t.Errorf("load = %+v", l)
	}
	if l.RequestsInRetention == nil || *l.RequestsInRetention != 4000 || !l.ObservedAt.Equal(stats.At) {
		t.Errorf("requests in 10m = %v, observed at %v (refresh at %v)", l.RequestsInRetention, l.ObservedAt, stats.At)
	}
	if r := s.Load(context.Background(), groupA, 30*time.Second); *r.Load.RequestsInRetention != 7 {
		t.Errorf("requests in 30s = %v, want 7", *r.Load.RequestsInRetention)
	}
	if r := s.Load(context.Background(), groupA, time.Hour); r.Load.RequestsInRetention != nil {
		t.Errorf("a retention nobody configured is not queried: got %v", *r.Load.RequestsInRetention)
	}

	// 500 groups: the same queries.
	for i := range 500 {
		fake.setGroup(modelgroup.Key{Namespace: fmt.Sprint("ns", i%7), ModelID: fmt.Sprint("m", i)}, float64(i), 100, 10)
	}
	before := fake.requests.Load()
	stats = refresh(t, s)
	if got := fake.requests.Load() - before; got != int64(len(want)) || stats.Groups != 501 {
		t.Fatalf("501 groups: %d requests, %d groups; want %d requests", got, stats.Groups, len(want))
	}
	if n := len(drain(s)); n != 501 {
		t.Errorf("%d groups notified, want all 501 (each appeared)", n)
	}
}

func TestPrometheusFailSafe(t *testing.T) {
	cfg := testConfig("")
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)

	key := func(name string) modelgroup.Key { return modelgroup.Key{Namespace: "fs", ModelID: name} }
	fake.setGroup(key("ok"), 3, 200, 50)
	fake.setGroup(key("nan-rate"), math.NaN(), 200, 50)
	fake.setGroup(key("inf-rate"), math.Inf(1), 200, 50)
	fake.setGroup(key("old"), 3, 200, 50)
	fake.put(queryAge, key("old"), 11)
	fake.setGroup(key("no-current-sample"), 3, 200, 50)
	fake.remove(queryAge, key("no-current-sample"))
	fake.setGroup(key("idle"), 0, math.NaN(), math.NaN()) // 0/0: no request in the window
	fake.put(queryTTFT, key("idle"), math.NaN())
	fake.setGroup(key("nan-tokens"), 2, math.NaN(), 50)
	fake.setGroup(key("no-gen-tokens"), 2, 100, 50)
	fake.remove(queryGenTokens, key("no-gen-tokens"))
	fake.setGroup(key("aborted"), 2, 100, 0.25)
	fake.put(queryAge, key("only-age"), 1) // no rate series: missing
	fake.put(queryRate, modelgroup.Key{ModelID: "no-namespace"}, 5)

	stats := refresh(t, s)
	if stats.Err != nil {
		t.Fatal(stats.Err)
	}
	ctx := context.Background()
	for name, want := range map[string]string{
		"ok":                llmdv1alpha1.ConditionReasonMetricsFound,
		"nan-rate":          llmdv1alpha1.ConditionReasonMetricsMissing,
		"inf-rate":          llmdv1alpha1.ConditionReasonMetricsMissing,
		"old":               llmdv1alpha1.ConditionReasonMetricsStale,
		"no-current-sample": llmdv1alpha1.ConditionReasonMetricsStale,
		"idle":              llmdv1alpha1.ConditionReasonMetricsFound,
		"nan-tokens":        llmdv1alpha1.ConditionReasonMetricsMissing,
		"no-gen-tokens":     llmdv1alpha1.ConditionReasonMetricsMissing,
		"aborted":           llmdv1alpha1.ConditionReasonMetricsFound,
		"only-age":          llmdv1alpha1.ConditionReasonMetricsMissing,
		"never-seen":        llmdv1alpha1.ConditionReasonMetricsMissing,
	} {
		r := s.Load(ctx, key(name), 0)
		if r.Reason != want || r.Available != (want == llmdv1alpha1.ConditionReasonMetricsFound) {
			t.Errorf("%s: available %v reason %q (%s), want %q", name, r.Available, r.Reason, r.Message, want)
		}
		if !r.Available && (r.Load.ArrivalRate != 0 || r.Message == "") {
			t.Errorf("%s: an unavailable reading carries no load and says why: %+v", name, r)
		}
	}
	if l := s.Load(ctx, key("idle"), 0).Load; l.ArrivalRate != 0 || l.AvgInputTokens != 0 || l.ObservedTTFT != 0 {
		t.Errorf("idle: %+v, want zero load with unknown tokens and latency", l)
	}
	if l := s.Load(ctx, key("aborted"), 0).Load; l.AvgOutputTokens != 1 {
		t.Errorf("aborted: average output tokens %v, want at least 1", l.AvgOutputTokens)
	}
	if !strings.Contains(s.Load(ctx, key("old"), 0).Message, "11s old") {
		t.Errorf("stale message: %s", s.Load(ctx, key("old"), 0).Message)
	}
	if stats.Groups != 9 {
		t.Errorf("%d groups with a rate series, want 9 (the sample without namespace is dropped)", stats.Groups)
	}
}

func TestPrometheusErrorsMakeEveryGroupUnavailableAndRecover(t *testing.T) {
	cfg := testConfig("")
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, reg := newTestSource(t, cfg)
	ctx := context.Background()

	if r := s.Load(ctx, groupA, 0); r.Available || r.Reason != llmdv1alpha1.ConditionReasonMetricsMissing {
		t.Fatalf("before the first refresh: %+v", r)
	}
	fake.setGroup(groupA, 5, 100, 10)
	fake.setGroup(groupB, 0, 0, 0)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA, groupB}) {
		t.Fatalf("first refresh notified %v", got)
	}

	// One failing query fails the refresh: every group is unavailable.
	fake.setFail(queryITL, true)
	stats := refresh(t, s)
	if stats.Err == nil || stats.Failed == 0 {
		t.Fatalf("stats %+v, want an error", stats)
	}
	for _, k := range []modelgroup.Key{groupA, groupB, {Namespace: "x", ModelID: "unknown"}} {
		r := s.Load(ctx, k, 0)
		expectReason(t, r, false, llmdv1alpha1.ConditionReasonPrometheusError)
		if r.Load.ArrivalRate != 0 || !strings.Contains(r.Message, "itl") {
			t.Errorf("%s: %+v", k, r)
		}
	}
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA, groupB}) {
		t.Fatalf("failing refresh notified %v, want both groups", got)
	}
	refresh(t, s)
	if got := drain(s); len(got) != 0 {
		t.Fatalf("a second failing refresh notified %v, want none (nothing changed)", got)
	}

	// Unreachable: the same.
	srv.Close()
	stats = refresh(t, s)
	if stats.Err == nil {
		t.Fatal("unreachable Prometheus: no error")
	}
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonPrometheusError)

	// Back (on another address, through a config change): both recover and are notified.
	fake.setFail(queryITL, false)
	srv2 := httptest.NewServer(fake)
	defer srv2.Close()
	s.opts.Config.(*staticConfig).p.Store(testConfig(srv2.URL))
	refresh(t, s)
	// First a whole rate window of fresh data (see TestPrometheusWarmsUpAfterAGap).
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA, groupB}) {
		t.Fatalf("recovery notified %v, want both groups", got)
	}
	skip(s, DefaultRateWindow)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA, groupB}) {
		t.Fatalf("recovery notified %v, want both groups", got)
	}

	// A group that vanishes from Prometheus is notified once, as missing.
	fake.remove(queryRate, groupB)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupB, 0), false, llmdv1alpha1.ConditionReasonMetricsMissing)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupB}) {
		t.Fatalf("vanished group: notified %v", got)
	}
	refresh(t, s)
	if got := drain(s); len(got) != 0 {
		t.Fatalf("notified %v again", got)
	}

	// No Prometheus configured at all.
	s.opts.Config.(*staticConfig).p.Store(testConfig(""))
	stats = refresh(t, s)
	if stats.Err == nil || !strings.Contains(stats.Err.Error(), config.KeyPrometheusBaseURL) {
		t.Fatalf("no Prometheus configured: %v", stats.Err)
	}
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA}) {
		t.Fatalf("no Prometheus: notified %v, want %s (the group with metrics)", got, groupA)
	}

	// Self-metrics: 6 queries per refresh, failures counted.
	if got := testutil.ToFloat64(s.metrics.queries.WithLabelValues(resultError)); got < 2 {
		t.Errorf("wva_load_queries_total{result=error} = %v, want at least 2", got)
	}
	if got := testutil.ToFloat64(s.metrics.changed); got != 10 {
		t.Errorf("wva_load_groups_changed_total = %v, want 10", got)
	}
	if n, err := testutil.GatherAndCount(reg, "wva_load_refresh_duration_seconds", "wva_load_queries_total", "wva_load_groups_changed_total"); err != nil || n != 4 {
		t.Errorf("registered series: %d (%v), want 4", n, err)
	}
	if got := testutil.CollectAndCount(s.metrics.duration); got != 1 {
		t.Errorf("histogram series %d", got)
	}
}

func TestPrometheusWarmsUpAfterAGap(t *testing.T) {
	cfg := testConfig("")
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)
	ctx := context.Background()
	fake.setGroup(groupA, 5, 100, 10)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound) // no evidence of a gap

	// Prometheus fails for a while: when it answers again, the first rate
	// windows hold samples only since it came back and underestimate.
	fake.setFail("*", true)
	refresh(t, s)
	fake.setFail("*", false)
	skip(s, 10*time.Second)
	refresh(t, s)
	r := s.Load(ctx, groupA, 0)
	expectReason(t, r, false, llmdv1alpha1.ConditionReasonMetricsStale)
	if !strings.Contains(r.Message, "rate window (1m0s)") {
		t.Errorf("message: %s", r.Message)
	}
	skip(s, DefaultRateWindow-time.Second)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	skip(s, time.Second)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)

	// A group that was stale, or that appears, warms up the same way.
	fake.put(queryAge, groupA, 60)
	fake.setGroup(groupB, 1, 100, 10)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	expectReason(t, s.Load(ctx, groupB, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	fake.put(queryAge, groupA, 1)
	skip(s, 30*time.Second)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	skip(s, 30*time.Second)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonMetricsStale)
	expectReason(t, s.Load(ctx, groupB, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
	skip(s, 30*time.Second)
	refresh(t, s)
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
}

func TestPrometheusNotifiesOnlyGroupsThatMoved(t *testing.T) {
	cfg := testConfig("", func(c *config.Config) {
		c.Operator.LoadChangeTolerance = 0.1
		c.Operator.ScaleToZeroDefault = config.ScaleToZeroPolicy{Enabled: true, Retention: 20 * time.Second}
	})
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)
	c := modelgroup.Key{Namespace: "ns", ModelID: "c"}
	for _, k := range []modelgroup.Key{groupA, groupB, c} {
		fake.setGroup(k, 10, 100, 10)
		fake.put(queryRetentionPrefix+"20s", k, 50)
	}
	refresh(t, s)
	drain(s)

	fake.setGroup(groupA, 10.5, 100, 10) // +5%: within the tolerance
	fake.setGroup(groupB, 15, 100, 10)   // +50%
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupB}) {
		t.Fatalf("notified %v, want only %s", got, groupB)
	}
	// Small moves add up against the last notified load: 10 → 11.025 is +10.25%.
	fake.setGroup(groupA, 11.025, 100, 10)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA}) {
		t.Fatalf("notified %v, want only %s", got, groupA)
	}
	// Token averages count too.
	fake.setGroup(c, 10, 300, 10)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{c}) {
		t.Fatalf("notified %v, want only %s", got, c)
	}
	// A queue counts as the demand it adds: 60 waiting drained within 2
	// minutes add 0.5 req/s to c's 10 (+5%, within the tolerance), 240 add 2.
	fake.put(queryWaiting, c, 60)
	refresh(t, s)
	if got := drain(s); len(got) != 0 {
		t.Fatalf("notified %v for a queue within the tolerance", got)
	}
	fake.put(queryWaiting, c, 240)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{c}) {
		t.Fatalf("notified %v, want only %s", got, c)
	}
	// No request within the retention any more: notified even at equal rate.
	fake.put(queryRetentionPrefix+"20s", groupB, 0)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupB}) {
		t.Fatalf("notified %v, want only %s", got, groupB)
	}
	// Becoming stale is a change; staying stale is not.
	fake.put(queryAge, groupA, 60)
	refresh(t, s)
	refresh(t, s)
	if got := drain(s); !slices.Equal(got, []modelgroup.Key{groupA}) {
		t.Fatalf("notified %v, want only %s", got, groupA)
	}
}

func TestPrometheusTLSClientCertificateAndTokenFileRotation(t *testing.T) {
	pki := newTestPKI(t)
	cfg := testConfig("")
	fake := newFakeProm(cfg)
	fake.setGroup(groupA, 1, 100, 10)
	url := pki.serveTLS(t, fake)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("first-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = testConfig(url, func(c *config.Config) {
		c.Operator.Prometheus.CACertPath = pki.caFile
		c.Operator.Prometheus.ClientCertPath = pki.clientCert
		c.Operator.Prometheus.ClientKeyPath = pki.clientKey
		c.Operator.Prometheus.ServerName = "prometheus.test"
		c.Operator.Prometheus.TokenPath = tokenFile
	})
	s, src, _ := newTestSource(t, cfg)
	ctx := context.Background()

	if stats := refresh(t, s); stats.Err != nil {
		t.Fatalf("TLS with CA, client certificate and server name: %v", stats.Err)
	}
	expectReason(t, s.Load(ctx, groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
	if got := fake.lastAuth(); got != "Bearer first-token" {
		t.Fatalf("Authorization %q", got)
	}
	// The token file is rotated: the next refresh sends the new token, on
	// the same connection (the transport re-reads the file per request).
	conn := s.conn
	if err := os.WriteFile(tokenFile, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	refresh(t, s)
	if got := fake.lastAuth(); got != "Bearer second-token" {
		t.Fatalf("after rotation: Authorization %q", got)
	}
	if s.conn != conn {
		t.Error("a new token rebuilt the connection")
	}
	if got := fake.lastClientSerial(); got != clientSerial {
		t.Fatalf("client certificate serial %d, want %d", got, clientSerial)
	}
	// The client certificate is rotated: the next refresh presents the new
	// one, again without new settings.
	pki.rotateClient(t, clientSerial+1)
	if stats := refresh(t, s); stats.Err != nil {
		t.Fatalf("after the certificate rotation: %v", stats.Err)
	}
	if got := fake.lastClientSerial(); got != clientSerial+1 {
		t.Errorf("after the rotation: client certificate serial %d, want %d", got, clientSerial+1)
	}
	if s.conn != conn {
		t.Error("a rotated certificate file rebuilt the connection")
	}

	for name, edit := range map[string]func(p *config.PrometheusConfig){
		"no server name: the certificate is for prometheus.test, not 127.0.0.1": func(p *config.PrometheusConfig) { p.ServerName = "" },
		"no CA: unknown authority":                  func(p *config.PrometheusConfig) { p.CACertPath = "" },
		"no client certificate: the server refuses": func(p *config.PrometheusConfig) { p.ClientCertPath, p.ClientKeyPath = "", "" },
		"unreadable token file":                     func(p *config.PrometheusConfig) { p.TokenPath = tokenFile + ".missing" },
		"unreadable CA file":                        func(p *config.PrometheusConfig) { p.CACertPath = tokenFile },
		"a client certificate without its key":      func(p *config.PrometheusConfig) { p.ClientKeyPath = "" },
	} {
		bad := *cfg
		edit(&bad.Operator.Prometheus)
		src.p.Store(&bad)
		stats := refresh(t, s)
		if stats.Err == nil {
			t.Errorf("%s: no error", name)
		}
		expectReason(t, s.Load(ctx, groupA, 0), false, llmdv1alpha1.ConditionReasonPrometheusError)
	}

	// Insecure skip verify: no CA or server name needed; a static token.
	insecure := *cfg
	insecure.Operator.Prometheus.CACertPath, insecure.Operator.Prometheus.ServerName = "", ""
	insecure.Operator.Prometheus.InsecureSkipVerify = true
	insecure.Operator.Prometheus.TokenPath, insecure.Operator.Prometheus.BearerToken = "", "static"
	src.p.Store(&insecure)
	if stats := refresh(t, s); stats.Err != nil {
		t.Fatalf("insecure skip verify: %v", stats.Err)
	}
	if got := fake.lastAuth(); got != "Bearer static" {
		t.Fatalf("Authorization %q", got)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", insecure.Operator.Prometheus, s.Load(ctx, groupA, 0)), "static") {
		t.Error("the token shows up in a rendering")
	}
}

func TestPrometheusStartRefreshesEveryIntervalAndOnConfigChange(t *testing.T) {
	cfg := testConfig("", func(c *config.Config) { c.Operator.OptInterval = 30 * time.Millisecond })
	fake := newFakeProm(cfg)
	fake.setGroup(groupA, 1, 100, 10)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	src := &staticConfig{}
	src.p.Store(cfg)
	refreshes := make(chan RefreshStats, 100)
	s, err := NewPrometheus(PrometheusOptions{
		Config: src, Registerer: prometheus.NewRegistry(),
		OnRefresh: func(st RefreshStats) { refreshes <- st },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Start(ctx) }()
	next := func(within time.Duration) RefreshStats {
		t.Helper()
		select {
		case st := <-refreshes:
			return st
		case <-time.After(within):
			t.Fatalf("no refresh within %v", within)
			return RefreshStats{}
		}
	}
	for range 3 {
		if st := next(2 * time.Second); st.Err != nil {
			t.Fatal(st.Err)
		}
	}
	if e := <-s.Changes(); e.Object != groupA {
		t.Fatalf("changed %v", e.Object)
	}

	// A long interval: only a relevant config change triggers a refresh.
	long := *cfg
	long.Operator.OptInterval = time.Hour
	src.p.Store(&long)
	next(2 * time.Second) // the tick already scheduled
	s.OnConfigChange(config.Change{Accelerators: []string{"H100"}})
	select {
	case <-refreshes:
		t.Fatal("a cost change triggered a refresh")
	case <-time.After(100 * time.Millisecond):
	}
	s.OnConfigChange(config.Change{Prometheus: true})
	next(2 * time.Second)

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPrometheusSourceRegistersItsMetricsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := &staticConfig{}
	a, _ := NewPrometheus(PrometheusOptions{Config: src, Registerer: reg})
	b, _ := NewPrometheus(PrometheusOptions{Config: src, Registerer: reg})
	if a.metrics.queries != b.metrics.queries || a.metrics.duration != b.metrics.duration {
		t.Error("a second source on one registry does not share the collectors")
	}
	if _, err := NewPrometheus(PrometheusOptions{}); err == nil {
		t.Error("no config source: no error")
	}
}

// countingTransport counts the requests of the source's client.
type countingTransport struct {
	next http.RoundTripper
	n    *int
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	*c.n++
	return c.next.RoundTrip(r)
}

func TestPrometheusWrapTransport(t *testing.T) {
	cfg := testConfig("")
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	src := &staticConfig{}
	src.p.Store(cfg)
	n := 0
	s, _ := NewPrometheus(PrometheusOptions{
		Config: src, Registerer: prometheus.NewRegistry(), MaxConcurrentQueries: 1,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &n} },
	})
	refresh(t, s)
	if n != len(s.Queries(cfg)) {
		t.Fatalf("%d requests, want %d", n, len(s.Queries(cfg)))
	}
}
