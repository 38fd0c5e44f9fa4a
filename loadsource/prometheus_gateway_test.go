package loadsource

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestPrometheusReadsTheGateway(t *testing.T) {
	const retention = 10 * time.Minute
	cfg := testConfig("", func(c *config.Config) {
		c.Operator.ScaleToZeroDefault = config.ScaleToZeroPolicy{Enabled: true, Retention: retention}
	})
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)
	at := s.opts.Now()
	secs := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

	served := modelgroup.Key{Namespace: "ns", ModelID: "served"}      // pods and gateway
	vllmOnly := modelgroup.Key{Namespace: "ns", ModelID: "vllm-only"} // no gateway series
	cold := modelgroup.Key{Namespace: "ns", ModelID: "cold"}          // gateway only: no pods
	waking := modelgroup.Key{Namespace: "ns", ModelID: "waking"}      // pods without a finished request yet
	fresh := modelgroup.Key{Namespace: "ns", ModelID: "fresh"}        // data for 2 minutes only
	fake.setGroup(served, 10, 512, 128)
	fake.setGroup(vllmOnly, 4, 256, 64)
	fake.setGroup(waking, 0, 0, 0)
	fake.setGroup(fresh, 0, 0, 0)
	fake.put(queryGatewayRate, served, 12)
	fake.put(queryGatewayQueue, served, 3)
	fake.put(queryGatewayRate, cold, 0.5)
	fake.put(queryGatewayQueue, cold, 2)
	fake.put(queryGatewayRate, waking, 1)
	fake.put(queryGatewayRate, fresh, 0)
	fake.put(queryPods, served, 3)
	for _, k := range []modelgroup.Key{served, vllmOnly, waking, fresh} {
		fake.put(queryRetentionPrefix+"10m", k, 0)
	}
	fake.put(queryRetentionPrefix+"10m", served, 100)
	fake.put(queryGatewayInPrefix+"10m", served, 20)
	fake.put(queryCoveragePrefix+"10m", served, secs(at.Add(-time.Hour)))
	fake.put(queryCoveragePrefix+"10m", vllmOnly, secs(at.Add(-retention+5*time.Second))) // within one step of the window start
	fake.put(queryCoveragePrefix+"10m", fresh, secs(at.Add(-2*time.Minute)))
	if stats := refresh(t, s); stats.Err != nil {
		t.Fatal(stats.Err)
	}

	type reading struct {
		Available                 bool
		Reason                    string
		Rate, Waiting, InRetained float64
		Pods                      int
		DataSince                 time.Time
	}
	get := func(k modelgroup.Key) reading {
		r := s.Load(context.Background(), k, retention)
		out := reading{Available: r.Available, Reason: r.Reason, Rate: r.Load.ArrivalRate, Waiting: r.Load.Waiting,
			Pods: r.Load.Pods, DataSince: r.Load.DataSince}
		if r.Load.RequestsInRetention != nil {
			out.InRetained = *r.Load.RequestsInRetention
		}
		return out
	}
	windowStart := at.Add(-retention)
	want := map[modelgroup.Key]reading{
		served:   {Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound, Rate: 12, Waiting: 3, Pods: 3, InRetained: 120, DataSince: windowStart},
		vllmOnly: {Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound, Rate: 4, DataSince: windowStart},
		cold:     {Reason: llmdv1alpha1.ConditionReasonMetricsMissing, Rate: 0.5, Waiting: 2},
		waking:   {Reason: llmdv1alpha1.ConditionReasonMetricsMissing, Rate: 1},
		fresh:    {Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound, DataSince: time.UnixMilli(at.Add(-2 * time.Minute).UnixMilli())},
	}
	got := map[modelgroup.Key]reading{}
	for k := range want {
		got[k] = get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
	// The group without pods is notified: requests wait for it.
	notified := drain(s)
	if !containsKey(notified, cold) {
		t.Errorf("notified %v, want the cold group among them", notified)
	}
	// Its demand going away is a change too; then it is forgotten.
	fake.remove(queryGatewayRate, cold)
	fake.remove(queryGatewayQueue, cold)
	refresh(t, s)
	if notified := drain(s); !containsKey(notified, cold) {
		t.Errorf("notified %v after the demand went, want the cold group", notified)
	}
}

func containsKey(keys []modelgroup.Key, k modelgroup.Key) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
