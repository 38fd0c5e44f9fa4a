package emulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func newGatewayTest(t *testing.T, delay time.Duration, replicas *int) (*Emulator, *fakeClock) {
	t.Helper()
	s, err := ParseSchedule([]byte(`
models:
  - namespace: team
    model: m
    replicas: 0
    phases: [{rate: 0}]
  - namespace: other
    model: x
    phases: [{rate: 0}]
`))
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	opts := []Option{WithClock(clock.now), WithStartupDelay(delay)}
	if replicas != nil {
		opts = append(opts, WithReplicaSource(func(ns, model string) (int, bool) {
			if ns == "team" && model == "m" {
				return *replicas, true
			}
			return 0, false
		}))
	}
	e, err := New(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func gatewayState(t *testing.T, e *Emulator) GatewayState {
	t.Helper()
	g, err := e.Gateway("team", "m")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestGatewayQueuesUntilAPodIsReady(t *testing.T) {
	replicas := 0
	e, clock := newGatewayTest(t, 30*time.Second, &replicas)
	start := clock.now()
	if err := e.Send("team", "m", 3); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Second)
	if err := e.Send("team", "m", 1); err != nil {
		t.Fatal(err)
	}
	got := gatewayState(t, e)
	want := GatewayState{Arrived: 4, Waiting: 4, WaitingSince: start}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("at zero (-want +got):\n%s", diff)
	}

	// The Deployment scales to 1 at +5s: its pod is ready 30s later.
	clock.add(3 * time.Second)
	replicas = 1
	e.Advance()
	clock.add(29 * time.Second)
	if g := gatewayState(t, e); g.Waiting != 4 || g.ReadyPods != 0 || g.Pods != 1 {
		t.Fatalf("before the pod is ready: %+v", g)
	}
	clock.add(5 * time.Second) // read 4s after the pod became ready at +35s
	got = gatewayState(t, e)
	want = GatewayState{Arrived: 4, ReadyPods: 1, Pods: 1,
		Waits: []time.Duration{35 * time.Second, 35 * time.Second, 35 * time.Second, 33 * time.Second}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("after the pod is ready (-want +got):\n%s", diff)
	}
	if n, _ := e.Requests("team", "m"); n != 4 {
		t.Errorf("served %v, want 4", n)
	}
	// The waits show in TTFT: four requests, at least 33s each.
	body := scrape(t, e)
	if !strings.Contains(body, `vllm:time_to_first_token_seconds_count{model_name="m",namespace="team",pod="pod-0"} 4`) ||
		!strings.Contains(body, `vllm:time_to_first_token_seconds_bucket{model_name="m",namespace="team",pod="pod-0",le="20"} 0`) {
		t.Errorf("TTFT does not show the waits:\n%s", body)
	}
	// A request now is served at once.
	if err := e.Send("team", "m", 1); err != nil {
		t.Fatal(err)
	}
	if g := gatewayState(t, e); g.Waiting != 0 || len(g.Waits) != 4 {
		t.Errorf("with a ready pod: %+v", g)
	}
}

func TestGatewayMetricsBothNamesPerNamespace(t *testing.T) {
	e, _ := newGatewayTest(t, 0, nil)
	if err := e.Send("team", "m", 2); err != nil {
		t.Fatal(err)
	}
	if err := e.Send("other", "x", 5); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, all := get("/gateway/metrics")
	for _, want := range []string{
		`llm_d_epp_request_total{namespace="team",priority="0",model_name="m",target_model_name="m"} 2`,
		`inference_objective_request_total{namespace="other",priority="0",model_name="x",target_model_name="x"} 5`,
		`llm_d_epp_flow_control_queue_size{namespace="team",fairness_id="default",priority="0",inference_pool="team-pool",model_name="m",target_model_name="m"} 2`,
		`inference_extension_flow_control_queue_size{namespace="other",fairness_id="default",priority="0",inference_pool="other-pool",model_name="x",target_model_name="x"} 0`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("/gateway/metrics lacks %q:\n%s", want, all)
		}
	}
	code, one := get("/gateway/team/metrics")
	if code != http.StatusOK || strings.Contains(one, "namespace=") || strings.Contains(one, `"x"`) ||
		!strings.Contains(one, `llm_d_epp_flow_control_queue_size{fairness_id="default",priority="0",inference_pool="team-pool",model_name="m",target_model_name="m"} 2`) {
		t.Errorf("/gateway/team/metrics: %d\n%s", code, one)
	}
	if code, _ := get("/gateway/nobody/metrics"); code != http.StatusNotFound {
		t.Errorf("unknown namespace: %d, want 404", code)
	}

	// Models served without a gateway are left out.
	without, _ := newGatewayTest(t, 0, nil)
	WithoutGateway("other")(without)
	srv2 := httptest.NewServer(without.Handler())
	defer srv2.Close()
	resp, err := http.Get(srv2.URL + "/gateway/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), `namespace="other"`) || !strings.Contains(string(b), `namespace="team"`) {
		t.Errorf("WithoutGateway(other): /gateway/metrics\n%s", b)
	}
}

func TestFailingPodLeavesMetrics(t *testing.T) {
	e, clock := newTest(t)
	if err := e.SetReplicas("team", "a", 3); err != nil {
		t.Fatal(err)
	}
	clock.add(20 * time.Second)
	if err := e.SetPodScrapeFailing("team", "a", "pod-1", true); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, e)
	if strings.Contains(body, `pod="pod-1"`) || !strings.Contains(body, `pod="pod-2"`) {
		t.Errorf("pod-1 failing: /metrics\n%s", body)
	}
	if err := e.SetPodScrapeFailing("team", "a", "pod-1", false); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, e); !strings.Contains(body, `vllm:request_success_total{finished_reason="stop",model_name="a",namespace="team",pod="pod-1"}`) {
		t.Errorf("pod-1 back: /metrics\n%s", body)
	}
	if err := e.SetPodScrapeFailing("team", "a", "pod-9", true); err == nil {
		t.Error("unknown pod: no error")
	}
	// Scaling down removes the newest pods and their series.
	if err := e.SetReplicas("team", "a", 1); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, e); strings.Contains(body, `pod="pod-1"`) || !strings.Contains(body, `pod="pod-0"`) {
		t.Errorf("after scaling to 1: /metrics\n%s", body)
	}
}
