package loadsource

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/llm-d/variant-autoscaler/estimator"
)

// podFake answers the per-pod queries from canned values (pod → value per
// query name, all for groupA) and hands every other query to the fake
// Prometheus of the load tests.
type podFake struct {
	base   *fakeProm
	names  map[string]string
	values map[string]map[string]float64
	seen   int
}

func (p *podFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	name, ok := p.names[r.Form.Get("query")]
	if !ok {
		p.base.ServeHTTP(w, r)
		return
	}
	p.seen++
	ts, _ := strconv.ParseFloat(r.Form.Get("time"), 64)
	result := []map[string]any{}
	for pod, v := range p.values[name] {
		result = append(result, map[string]any{
			"metric": map[string]string{"namespace": groupA.Namespace, "model_name": groupA.ModelID, "pod": pod},
			"value":  []any{ts, promValue(v)},
		})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
}

// TestPrometheusPodWindows: with PodWindows on, a refresh adds the nine
// per-pod queries (whatever the number of groups) once per profile window,
// and PodWindows answers each group's pods with the windows last read and
// their end; off, nothing changes.
func TestPrometheusPodWindows(t *testing.T) {
	cfg := testConfig("")
	fake := &podFake{base: newFakeProm(cfg), names: map[string]string{}, values: map[string]map[string]float64{
		queryPodRequests: {"a-1": 120, "a-2": 60}, queryPodTTFT: {"a-1": 100, "a-2": 90}, queryPodITL: {"a-1": 20, "a-2": 18},
		queryPodPrompt: {"a-1": 512, "a-2": 512}, queryPodInService: {"a-1": 9, "a-2": 4}, queryPodRunning: {"a-1": 9, "a-2": 4},
	}}
	for _, q := range podQueries(DefaultProfileWindow) {
		fake.names[q.promQL] = q.name
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	src := &staticConfig{}
	src.p.Store(cfg)
	off, _, _ := newTestSource(t, cfg)
	on, err := NewPrometheus(PrometheusOptions{Config: src, Registerer: prometheus.NewRegistry(), Now: newTestClock().now, PodWindows: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(on.Queries(cfg)), len(off.Queries(cfg))+9; got != want {
		t.Fatalf("%d queries with pod windows, want %d", got, want)
	}
	fake.base.setGroup(groupA, 3, 512, 128)
	stats := refresh(t, on)
	if stats.Err != nil || fake.seen != 9 {
		t.Fatalf("refresh %+v, %d pod queries answered", stats, fake.seen)
	}
	windows, start, at := on.PodWindows(groupA)
	secs := DefaultProfileWindow.Seconds()
	want := map[string]estimator.Window{
		"a-1": {Requests: 120, RequestRate: 120 / secs, TTFT: 100, ITL: 20, InputTokens: 512, Running: 9, InService: 9},
		"a-2": {Requests: 60, RequestRate: 60 / secs, TTFT: 90, ITL: 18, InputTokens: 512, Running: 4, InService: 4},
	}
	if diff := cmp.Diff(want, windows); diff != "" || at.IsZero() || at.Sub(start) != DefaultProfileWindow {
		t.Errorf("pod windows from %v to %v (-want +got):\n%s", start, at, diff)
	}

	// The refreshes within the profile window read no pods and answer the
	// same windows, ending when they did: consecutive windows never overlap.
	first, step := at, DefaultProfileWindow/4
	for range 3 {
		skip(on, step)
		fake.seen = 0
		if stats := refresh(t, on); stats.Err != nil || fake.seen != 0 {
			t.Fatalf("refresh within the profile window %+v, %d pod queries", stats, fake.seen)
		}
		if w, _, end := on.PodWindows(groupA); !end.Equal(first) || len(w) != 2 {
			t.Fatalf("within the profile window: %d windows ending %v, want 2 ending %v", len(w), end, first)
		}
	}
	skip(on, step)
	refresh(t, on)
	if fake.seen != 9 {
		t.Fatalf("%d pod queries a profile window after the first, want 8", fake.seen)
	}
	if _, _, end := on.PodWindows(groupA); end.Sub(first) != DefaultProfileWindow {
		t.Errorf("the next windows end %v after the first, want %v", end.Sub(first), DefaultProfileWindow)
	}
	if r := on.Load(t.Context(), groupA, 0); !r.Available {
		t.Errorf("the load reading is lost with pod windows on: %+v", r)
	}
	fake.seen = 0
	refresh(t, off)
	if w, _, _ := off.PodWindows(groupA); w != nil || fake.seen != 0 {
		t.Errorf("pod windows off: %v, %d pod queries", w, fake.seen)
	}
}
