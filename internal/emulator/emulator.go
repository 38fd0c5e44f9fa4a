// Package emulator exposes the serving metrics of vLLM for a set of
// (namespace, model) pairs, driven by a load schedule instead of real
// inference, so the operator can be run against a real Prometheus without
// GPUs. The series have vLLM's names, types and the labels namespace and
// model_name:
//
//	vllm:request_success_total                  counter
//	vllm:request_prompt_tokens                  histogram (tokens per request)
//	vllm:request_generation_tokens              histogram (tokens per request)
//	vllm:time_to_first_token_seconds            histogram
//	vllm:time_per_output_token_seconds          histogram
//
// Simulated time is wall time. Whenever the metrics are read (each scrape,
// or Advance), the requests since the last read are the integral of the
// scheduled rate; whole requests are counted and observed, the fraction is
// carried over. Each request observes the phase's token counts and the TTFT
// and ITL the queueing model (allocator.NewModel(...).Predict) predicts for
// one replica at the current rate divided by the current replica count.
// ITL is observed once per request (vLLM observes it per output token; the
// average, which is what the operator reads, is the same).
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// The vLLM series the emulator exposes.
const (
	MetricRequestSuccess   = "vllm:request_success_total"
	MetricPromptTokens     = "vllm:request_prompt_tokens"
	MetricGenerationTokens = "vllm:request_generation_tokens"
	MetricTTFT             = "vllm:time_to_first_token_seconds"
	MetricITL              = "vllm:time_per_output_token_seconds"
)

// Buckets as vLLM defines them.
var (
	tokenBuckets = []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}
	ttftBuckets  = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	itlBuckets   = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
)

// Option tunes an Emulator.
type Option func(*Emulator)

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(e *Emulator) { e.now = now } }

// WithReplicaSource makes the emulator ask for a model's replica count at
// every read of the metrics (e.g. the sum of the Deployments' replicas); ok
// false keeps the count set last.
func WithReplicaSource(f func(namespace, model string) (n int, ok bool)) Option {
	return func(e *Emulator) { e.replicaSource = f }
}

// Emulator plays a Schedule and serves the resulting vLLM metrics.
type Emulator struct {
	now           func() time.Time
	replicaSource func(namespace, model string) (int, bool)
	registry      *prometheus.Registry

	mu     sync.Mutex
	models map[modelKey]*modelState
	order  []modelKey

	requests                      *prometheus.CounterVec
	prompt, generation, ttft, itl *prometheus.HistogramVec
}

type modelKey struct{ namespace, model string }

type modelState struct {
	profile  allocator.Profile
	replicas int
	timeline timeline
	// last is when the metrics were last advanced; carry the fraction of a
	// request not yet counted.
	last  time.Time
	carry float64
	// total counts all requests so far (whole ones).
	total float64
}

// New returns an emulator playing s from now.
func New(s Schedule, opts ...Option) (*Emulator, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	e := &Emulator{now: time.Now, registry: prometheus.NewRegistry(), models: map[modelKey]*modelState{}}
	for _, o := range opts {
		o(e)
	}
	labels := []string{"namespace", "model_name"}
	e.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRequestSuccess, Help: "Count of successfully processed requests.",
	}, labels)
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	e.prompt = hist(MetricPromptTokens, "Number of prefill tokens processed.", tokenBuckets)
	e.generation = hist(MetricGenerationTokens, "Number of generation tokens processed.", tokenBuckets)
	e.ttft = hist(MetricTTFT, "Histogram of time to first token in seconds.", ttftBuckets)
	e.itl = hist(MetricITL, "Histogram of time per output token in seconds.", itlBuckets)
	e.registry.MustRegister(e.requests, e.prompt, e.generation, e.ttft, e.itl)

	start := e.now()
	for _, m := range s.Models {
		st := &modelState{profile: DefaultProfile.allocator(), replicas: 1, last: start,
			timeline: layout(start, m.Phases, 0, DefaultPromptTokens, DefaultGenerationTokens)}
		if m.Profile != nil {
			st.profile = m.Profile.allocator()
		}
		if m.Replicas != nil {
			st.replicas = *m.Replicas
		}
		k := modelKey{m.Namespace, m.Model}
		e.models[k] = st
		e.order = append(e.order, k)
		// vLLM exposes its series from the start, at zero.
		e.requests.WithLabelValues(m.Namespace, m.Model)
		for _, h := range []*prometheus.HistogramVec{e.prompt, e.generation, e.ttft, e.itl} {
			h.WithLabelValues(m.Namespace, m.Model)
		}
	}
	return e, nil
}

// Registry is the registry holding the vLLM series.
func (e *Emulator) Registry() *prometheus.Registry { return e.registry }

func (e *Emulator) model(namespace, model string) (*modelState, error) {
	st, ok := e.models[modelKey{namespace, model}]
	if !ok {
		return nil, fmt.Errorf("model %q in namespace %q is not in the schedule", model, namespace)
	}
	return st, nil
}

// SetReplicas tells the emulator how many replicas serve a model.
func (e *Emulator) SetReplicas(namespace, model string, n int) error {
	if n < 0 {
		return fmt.Errorf("replicas must not be negative, got %d", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return err
	}
	e.advanceLocked(e.now())
	st.replicas = n
	return nil
}

// SetPhases replaces a model's schedule from now on: the new phases start
// now, a ramp in the first one from the current rate.
func (e *Emulator) SetPhases(namespace, model string, phases []Phase) error {
	if err := validatePhases(phases); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return err
	}
	now := e.now()
	e.advanceLocked(now)
	el := now.Sub(st.timeline.origin)
	in, out := st.timeline.tokens(el)
	st.timeline = layout(now, phases, st.timeline.rate(el), in, out)
	return nil
}

// Rate returns a model's scheduled request rate now, req/s.
func (e *Emulator) Rate(namespace, model string) (float64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return 0, err
	}
	return st.timeline.rate(e.now().Sub(st.timeline.origin)), nil
}

// Requests returns the requests a model counted so far, after advancing.
func (e *Emulator) Requests(namespace, model string) (float64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return 0, err
	}
	e.advanceLocked(e.now())
	return st.total, nil
}

// Advance brings every series up to now; reading /metrics does it too.
func (e *Emulator) Advance() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.advanceLocked(e.now())
}

func (e *Emulator) advanceLocked(now time.Time) {
	for _, k := range e.order {
		st := e.models[k]
		if e.replicaSource != nil {
			if n, ok := e.replicaSource(k.namespace, k.model); ok && n >= 0 {
				st.replicas = n
			}
		}
		if !now.After(st.last) {
			continue
		}
		tl := st.timeline
		a, b := st.last.Sub(tl.origin), now.Sub(tl.origin)
		st.last = now
		st.carry += tl.requests(a, b)
		whole := math.Floor(st.carry)
		if whole < 1 {
			continue
		}
		st.carry -= whole
		st.total += whole
		in, out := tl.tokens(b)
		ttft, itl := st.latency(tl.rate(b), in, out)
		e.requests.WithLabelValues(k.namespace, k.model).Add(whole)
		prompt := e.prompt.WithLabelValues(k.namespace, k.model)
		gen := e.generation.WithLabelValues(k.namespace, k.model)
		tt := e.ttft.WithLabelValues(k.namespace, k.model)
		it := e.itl.WithLabelValues(k.namespace, k.model)
		for range int(whole) {
			prompt.Observe(in)
			gen.Observe(out)
			tt.Observe(ttft)
			it.Observe(itl)
		}
	}
}

// latency predicts TTFT and ITL in seconds for one replica at the model's
// rate shared by its replicas (with no replica, one cold replica's view).
func (st *modelState) latency(rate, in, out float64) (ttft, itl float64) {
	m, err := allocator.NewModel(st.profile, in, math.Max(out, 1))
	if err != nil {
		return 0, 0
	}
	p, err := m.Predict(math.Min(rate/float64(max(st.replicas, 1)), allocator.MaxRateLimit))
	if err != nil {
		return 0, 0
	}
	return p.TTFT / 1000, p.ITL / 1000
}

// Handler serves GET /metrics (advancing first), POST
// /replicas?namespace=..&model=..&n=.. and GET /healthz.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(e.registry, promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		e.Advance()
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("POST /replicas", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		n, err := strconv.Atoi(q.Get("n"))
		if err == nil {
			err = e.SetReplicas(q.Get("namespace"), q.Get("model"), n)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	return mux
}

// Serve serves the Handler on ln until ctx ends.
func (e *Emulator) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: e.Handler(), ReadHeaderTimeout: 10 * time.Second}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		<-stopped
		return nil
	}
	return err
}
