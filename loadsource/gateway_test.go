package loadsource

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestParseGatewayMetrics(t *testing.T) {
	const text = `# TYPE llm_d_epp_request_total counter
llm_d_epp_request_total{model_name="alias",target_model_name="m1",priority="0"} 5
llm_d_epp_request_total{model_name="m1",target_model_name="m1",priority="1"} 2
# TYPE inference_objective_request_total counter
inference_objective_request_total{model_name="m1",target_model_name="m1",priority="0"} 7
inference_objective_request_total{model_name="m2",target_model_name="m2",priority="0"} 3
# TYPE llm_d_epp_flow_control_queue_size gauge
llm_d_epp_flow_control_queue_size{fairness_id="a",priority="0",inference_pool="p",model_name="m1",target_model_name="m1"} 4
# TYPE inference_extension_flow_control_queue_size gauge
inference_extension_flow_control_queue_size{fairness_id="a",priority="0",inference_pool="p",model_name="m2",target_model_name="m2"} 1
inference_extension_flow_control_queue_size{fairness_id="a",priority="0",inference_pool="p",model_name="m1",target_model_name="m1"} 99
`
	cases := map[string]struct {
		label   string
		want    map[string]gatewayModel
		wantErr bool
	}{
		"target model: new names win, old ones fill in": {
			label: "target_model_name",
			want: map[string]gatewayModel{
				"m1": {Requests: 7, HasRequests: true, Queue: 4, HasQueue: true},
				"m2": {Requests: 3, HasRequests: true, Queue: 1, HasQueue: true},
			},
		},
		"requested model": {
			label: "model_name",
			want: map[string]gatewayModel{
				"alias": {Requests: 5, HasRequests: true},
				"m1":    {Requests: 2, HasRequests: true, Queue: 4, HasQueue: true},
				"m2":    {Requests: 3, HasRequests: true, Queue: 1, HasQueue: true},
			},
		},
	}
	gw := config.GatewayConfig{}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseGatewayMetrics(strings.NewReader(text), gw.RequestMetricNames(), gw.QueueMetricNames(), tc.label)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if _, err := parseGatewayMetrics(strings.NewReader("not { a metric"), nil, nil, "x"); err == nil {
		t.Error("a broken exposition parsed without error")
	}
}

// fakeEPP serves an endpoint picker's /metrics with a queue and a request
// counter per model, and counts the requests and their Authorization header.
type fakeEPP struct {
	mu       sync.Mutex
	queue    map[string]float64
	requests map[string]float64
	hits     atomic.Int64
	auth     atomic.Value
	status   atomic.Int64
}

func (f *fakeEPP) set(model string, queue, requests float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queue[model], f.requests[model] = queue, requests
}

func (f *fakeEPP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.hits.Add(1)
	f.auth.Store(r.Header.Get("Authorization"))
	if s := f.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fmt.Fprintln(w, "# TYPE llm_d_epp_request_total counter")
	for m, v := range f.requests {
		fmt.Fprintf(w, "llm_d_epp_request_total{model_name=%q,target_model_name=%q,priority=\"0\"} %v\n", m, m, v)
	}
	fmt.Fprintln(w, "# TYPE llm_d_epp_flow_control_queue_size gauge")
	for m, v := range f.queue {
		fmt.Fprintf(w, "llm_d_epp_flow_control_queue_size{model_name=%q,target_model_name=%q,priority=\"0\",fairness_id=\"x\",inference_pool=\"p\"} %v\n", m, m, v)
	}
}

func newFakeEPP(t *testing.T) (*fakeEPP, string) {
	t.Helper()
	f := &fakeEPP{queue: map[string]float64{}, requests: map[string]float64{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL + "/metrics"
}

func TestGatewayWakesOnlyGroupsAtZero(t *testing.T) {
	epp, url := newFakeEPP(t)
	cfg := &staticConfig{}
	cfg.p.Store(testConfig("", func(c *config.Config) {
		c.Operator.Gateway.Endpoints = "team-a=" + url
		c.Operator.Gateway.Conn.BearerToken = "s3cret"
	}))
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	atZero := map[string]bool{"cold": true, "cold-idle": true, "warm": false}
	var asked []string
	gw, err := NewGateway(GatewayOptions{Config: cfg, Now: clock,
		AtZero: func(_ context.Context, key modelgroup.Key) (bool, error) {
			asked = append(asked, key.ModelID)
			return atZero[key.ModelID], nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	epp.set("cold", 0, 0)
	epp.set("cold-idle", 0, 10)
	epp.set("warm", 0, 100)
	if s := gw.Poll(ctx); s.Err != nil || len(s.Woken) != 0 || s.Requests != 1 || s.Models != 3 {
		t.Fatalf("first poll: %+v, want no error, no group woken, 1 request, 3 models", s)
	}
	if got := epp.auth.Load(); got != "Bearer s3cret" {
		t.Errorf("Authorization = %q, want the configured bearer token", got)
	}

	// A request waits for "cold", "warm" keeps serving, "cold-idle" stays idle.
	now = now.Add(time.Second)
	epp.set("cold", 1, 1)
	epp.set("warm", 3, 150)
	asked = nil
	s := gw.Poll(ctx)
	if diff := cmp.Diff([]modelgroup.Key{{Namespace: "team-a", ModelID: "cold"}}, s.Woken); diff != "" {
		t.Errorf("woken (-want +got):\n%s", diff)
	}
	if len(asked) != 2 || s.Checked != 2 {
		t.Errorf("asked AtZero for %v, want only the two models with demand", asked)
	}
	select {
	case e := <-gw.Changes():
		if e.Object.ModelID != "cold" {
			t.Errorf("change for %v, want cold", e.Object)
		}
	default:
		t.Error("no change sent for the woken group")
	}
	queue, rate, ok := gw.Demand(modelgroup.Key{Namespace: "team-a", ModelID: "warm"})
	if !ok || queue != 3 || rate != 50 {
		t.Errorf("Demand(warm) = %v, %v, %v; want 3 waiting, 50 req/s", queue, rate, ok)
	}
	if since := gw.DemandSince(modelgroup.Key{Namespace: "team-a", ModelID: "cold"}); !since.Equal(now) {
		t.Errorf("DemandSince(cold) = %v, want %v", since, now)
	}

	// Still waiting one poll later: not sent again before rewakeAfter, and
	// "warm", served by its pods, is not asked again before then either.
	now = now.Add(time.Second)
	epp.set("warm", 3, 200)
	asked = nil
	if s := gw.Poll(ctx); len(s.Woken) != 0 || len(asked) != 0 {
		t.Errorf("after 1s: woken %v, asked %v; want nothing", s.Woken, asked)
	}
	now = now.Add(rewakeAfter)
	if s := gw.Poll(ctx); len(s.Woken) != 1 {
		t.Errorf("not woken again after %v: %+v", rewakeAfter, s)
	}

	// Readings go stale after three poll periods.
	now = now.Add(4 * time.Second)
	if _, _, ok := gw.Demand(modelgroup.Key{Namespace: "team-a", ModelID: "cold"}); ok {
		t.Error("a reading four poll periods old is still used")
	}

	// A failing endpoint is an error and wakes nothing.
	epp.status.Store(http.StatusUnauthorized)
	if s := gw.Poll(ctx); s.Err == nil || s.Failed != 1 || !strings.Contains(s.Err.Error(), "401") {
		t.Errorf("poll of a failing endpoint: %+v, want a 401 error", s)
	}
}

func TestWithGatewayOverlaysDemandOnly(t *testing.T) {
	epp, url := newFakeEPP(t)
	cfg := &staticConfig{}
	cfg.p.Store(testConfig("", func(c *config.Config) { c.Operator.Gateway.Endpoints = "ns=" + url }))
	gw, err := NewGateway(GatewayOptions{Config: cfg,
		AtZero: func(context.Context, modelgroup.Key) (bool, error) { return true, nil }})
	if err != nil {
		t.Fatal(err)
	}
	base := NewMemory(1)
	cold, warm := modelgroup.Key{Namespace: "ns", ModelID: "cold"}, modelgroup.Key{Namespace: "ns", ModelID: "warm"}
	base.SetUnavailable(cold, "MetricsMissing", "no pods")
	base.SetQuietly(warm, modelgroup.Load{ArrivalRate: 9})
	epp.set("cold", 2, 0)
	epp.set("warm", 5, 0)
	gw.Poll(context.Background())
	src := NewWithGateway(base, gw)

	got := src.Load(context.Background(), cold, 0)
	if got.Available || got.Load.Waiting != 2 || got.Reason != "MetricsMissing" {
		t.Errorf("cold: %+v, want unavailable with 2 waiting", got)
	}
	got = src.Load(context.Background(), warm, 0)
	if !got.Available || got.Load.Waiting != 5 || got.Load.ArrivalRate != 9 {
		t.Errorf("warm: %+v, want the base reading with 5 waiting", got)
	}
}
