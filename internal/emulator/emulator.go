// Package emulator plays a load schedule against emulated vLLM pods behind an
// emulated inference gateway (the endpoint picker, EPP, of the Gateway API
// Inference Extension / llm-d), so the operator can be run against a real
// Prometheus without GPUs.
//
// Requests for a model arrive at the gateway at the scheduled rate. The
// gateway dispatches them to the model's ready pods; while none is ready they
// wait in its flow-control queue and are dispatched as soon as a pod is
// ready, their wait added to their time to first token. Pods follow the
// model's replica count (SetReplicas or WithReplicaSource): a new pod becomes
// ready WithStartupDelay after the count rose; a removed pod's series vanish.
//
// Every pod exposes vLLM's serving metrics, with vLLM's names and types and
// the labels namespace, model_name and pod (and engine, WithEnginesPerPod):
//
//	vllm:request_success_total                  counter (by finished_reason)
//	vllm:request_prompt_tokens                  histogram (tokens per request)
//	vllm:request_generation_tokens              histogram (tokens per request)
//	vllm:time_to_first_token_seconds            histogram
//	vllm:inter_token_latency_seconds            histogram (WithITLNames)
//	vllm:request_prefill_time_seconds           histogram
//	vllm:request_inference_time_seconds         histogram
//	vllm:num_requests_running                   gauge
//	vllm:num_requests_waiting                   gauge
//
// and the gateway exposes, per model, llm-d's request counter and queue size
// under the new (llm_d_epp_*) and the old (inference_objective_* /
// inference_extension_*) names, with model_name and target_model_name.
//
// Simulated time is wall time. Whenever the metrics are read (each scrape,
// or Advance), the requests since the last read are the integral of the
// scheduled rate; whole requests are counted, the fraction is carried over.
// Each served request observes the phase's token counts and the latencies of
// one replica at the current rate divided by the ready pods: the queueing
// model (allocator.NewModel(...).Predict) gives its batch, queue and wait,
// and the serving physics of the profile estimator (serving.go) the step
// times; the gauges show the batch and queue at each read. As vLLM does, the
// inter-token latency is observed once per output token after the first
// (the mean generation tokens rounded), so its sum is the time requests
// spend decoding and its rate the mean number decoding.
//
// A pod serves at most its capacity (Profile.Capacity: a full batch's
// throughput). Offered more, the pods finish requests at their capacity
// with their batches full and queue the rest, oldest first, as vLLM does:
// the waiting gauge shows the queue, and each request's TTFT includes its
// wait. The counters then rise at the capacity, not at the offered rate;
// the gateway still counts every arrival.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// The vLLM series the emulator exposes.
const (
	MetricRequestSuccess   = "vllm:request_success_total"
	MetricPromptTokens     = "vllm:request_prompt_tokens"
	MetricGenerationTokens = "vllm:request_generation_tokens"
	MetricTTFT             = "vllm:time_to_first_token_seconds"
	// MetricITL is the per-step inter-token latency histogram as vLLM 0.11
	// and later name it; MetricITLBefore011 its name before (0.11 exports
	// both).
	MetricITL          = "vllm:inter_token_latency_seconds"
	MetricITLBefore011 = "vllm:time_per_output_token_seconds"
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

// WithStartupDelay sets how long a new pod takes to become ready after the
// replica count rose (default 0: at once). The pods of the schedule's
// initial replicas are ready from the start.
func WithStartupDelay(d time.Duration) Option { return func(e *Emulator) { e.startupDelay = d } }

// WithoutGateway leaves the models of these namespaces out of the
// gateway's metrics, as models served without an inference gateway.
func WithoutGateway(namespaces ...string) Option {
	return func(e *Emulator) {
		for _, ns := range namespaces {
			e.noGateway[ns] = true
		}
	}
}

// WithEnginesPerPod makes each pod a data-parallel vLLM of n engines
// (--data-parallel-size): its series carry vLLM's engine label ("0" to
// "n−1"), requests go to the engines in turn, and each engine shows the
// batch, queue and latencies of a server at its share of the rate. The
// default, 0, exports no engine label (one server per pod).
func WithEnginesPerPod(n int) Option { return func(e *Emulator) { e.engines = n } }

// WithITLNames sets the names the inter-token latency histogram is exported
// under (default MetricITL, as vLLM 0.11 and later; MetricITLBefore011 as
// vLLM before 0.11; both as vLLM 0.11). Each must be one of the two, once.
func WithITLNames(names ...string) Option { return func(e *Emulator) { e.itlNames = names } }

// Emulator plays a Schedule and serves the resulting metrics.
type Emulator struct {
	now           func() time.Time
	replicaSource func(namespace, model string) (int, bool)
	startupDelay  time.Duration
	noGateway     map[string]bool
	itlNames      []string
	engines       int
	registry      *prometheus.Registry

	mu     sync.Mutex
	models map[modelKey]*modelState
	order  []modelKey
	// failing holds the pods whose series are left out of /metrics, as if
	// Prometheus could not scrape them.
	failing map[podKey]bool

	requests                 *prometheus.CounterVec
	prompt, generation, ttft *prometheus.HistogramVec
	itl                      []*prometheus.HistogramVec // one per name
	serving                  *serving
}

type modelKey struct{ namespace, model string }

type podKey struct {
	modelKey
	pod string
}

// pod is one emulated replica.
type pod struct {
	name    string
	readyAt time.Time
}

// waiting is requests that arrived at the gateway at one time and wait.
type waiting struct {
	at time.Time
	n  float64
	// before is how long they waited at the gateway before being handed to
	// the pods (backlog only).
	before time.Duration
}

type modelState struct {
	profile  allocator.Profile
	replicas int
	pods     []pod
	nextPod  int // suffix of the next pod's name
	rr       int // round-robin cursor over ready pods
	timeline timeline
	// last is when the metrics were last advanced; carry the fraction of a
	// request not yet counted.
	last  time.Time
	carry float64
	// total counts the requests served so far (whole ones); arrived those
	// that arrived at the gateway.
	total, arrived float64
	// queue holds the requests waiting at the gateway, oldest first;
	// queued is their number and queueSince when the queue last became
	// non-empty (zero while empty).
	queue      []waiting
	queued     float64
	queueSince time.Time
	// waited records every wait of a served request (for tests and reports).
	waited []time.Duration
	// backlog holds the requests handed to ready pods that they have not
	// finished, oldest first; backlogged is their number. Pods finish them
	// at their capacity: credit is how many they can still finish, last
	// counted at finishedAt; queueing is set while more are left over than
	// their batches hold (they are full, the rest waits).
	backlog    []waiting
	backlogged float64
	credit     float64
	finishedAt time.Time
	queueing   bool
}

// New returns an emulator playing s from now.
func New(s Schedule, opts ...Option) (*Emulator, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	e := &Emulator{now: time.Now, registry: prometheus.NewRegistry(), models: map[modelKey]*modelState{},
		failing: map[podKey]bool{}, noGateway: map[string]bool{}, itlNames: []string{MetricITL}}
	for _, o := range opts {
		o(e)
	}
	if e.startupDelay < 0 {
		return nil, fmt.Errorf("the start-up delay must not be negative, got %v", e.startupDelay)
	}
	if err := validITLNames(e.itlNames); err != nil {
		return nil, err
	}
	if e.engines < 0 || e.engines > maxEnginesPerPod {
		return nil, fmt.Errorf("engines per pod must be between 0 (no engine label) and %d, got %d", maxEnginesPerPod, e.engines)
	}
	labels := []string{"namespace", "model_name", "pod"}
	if e.engines > 0 {
		labels = append(labels, "engine")
	}
	e.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: MetricRequestSuccess, Help: "Count of successfully processed requests.",
	}, append(slices.Clone(labels), labelFinishedReason))
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	e.prompt = hist(MetricPromptTokens, "Number of prefill tokens processed.", tokenBuckets)
	e.generation = hist(MetricGenerationTokens, "Number of generation tokens processed.", tokenBuckets)
	e.ttft = hist(MetricTTFT, "Histogram of time to first token in seconds.", ttftBuckets)
	e.registry.MustRegister(e.requests, e.prompt, e.generation, e.ttft)
	for _, name := range e.itlNames {
		h := hist(name, "Histogram of inter-token latency in seconds.", itlBuckets)
		e.registry.MustRegister(h)
		e.itl = append(e.itl, h)
	}
	e.serving = newServing(e.registry, labels)

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
		// The initial pods are up already.
		e.resize(k, st, st.replicas, start.Add(-e.startupDelay))
	}
	return e, nil
}

// Registry is the registry holding the vLLM series (of every pod, failing
// ones included).
func (e *Emulator) Registry() *prometheus.Registry { return e.registry }

func (e *Emulator) model(namespace, model string) (*modelState, error) {
	st, ok := e.models[modelKey{namespace, model}]
	if !ok {
		return nil, fmt.Errorf("model %q in namespace %q is not in the schedule", model, namespace)
	}
	return st, nil
}

// resize adds or removes pods so that the model has n; pods added become
// ready startupDelay after now. A removed pod's series are deleted (they
// vanish from /metrics, as a deleted pod's do from Prometheus's targets).
func (e *Emulator) resize(k modelKey, st *modelState, n int, now time.Time) {
	for len(st.pods) < n {
		p := pod{name: fmt.Sprintf("pod-%d", st.nextPod), readyAt: now.Add(e.startupDelay)}
		st.nextPod++
		st.pods = append(st.pods, p)
		e.podSeries(k, p, true)
	}
	for len(st.pods) > n {
		p := st.pods[len(st.pods)-1]
		st.pods = st.pods[:len(st.pods)-1]
		e.podSeries(k, p, false)
		delete(e.failing, podKey{k, p.name})
	}
	st.replicas = n
}

// readyPods returns the pods ready at t and the earliest time one was ready.
func (st *modelState) readyPods(t time.Time) (ready []pod, since time.Time) {
	for _, p := range st.pods {
		if !p.readyAt.After(t) {
			ready = append(ready, p)
			if since.IsZero() || p.readyAt.Before(since) {
				since = p.readyAt
			}
		}
	}
	return ready, since
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
	now := e.now()
	e.advanceLocked(now)
	e.resize(modelKey{namespace, model}, st, n, now)
	return nil
}

// SetPodScrapeFailing leaves a pod's series out of /metrics (failing true)
// or puts them back; its counters keep counting meanwhile.
func (e *Emulator) SetPodScrapeFailing(namespace, model, podName string, failing bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return err
	}
	for _, p := range st.pods {
		if p.name == podName {
			if failing {
				e.failing[podKey{modelKey{namespace, model}, podName}] = true
			} else {
				delete(e.failing, podKey{modelKey{namespace, model}, podName})
			}
			return nil
		}
	}
	return fmt.Errorf("model %q in namespace %q has no pod %q", model, namespace, podName)
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

// Send makes n requests for a model arrive at the gateway now, on top of
// the schedule; they are served at once by a ready pod or wait.
func (e *Emulator) Send(namespace, model string, n int) error {
	if n < 0 {
		return fmt.Errorf("requests must not be negative, got %d", n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return err
	}
	now := e.now()
	e.advanceLocked(now)
	e.arrive(modelKey{namespace, model}, st, float64(n), now)
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

// Requests returns the requests a model's pods served so far, after advancing.
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

// GatewayState is what the gateway holds for a model.
type GatewayState struct {
	// Arrived counts the requests that arrived at the gateway.
	Arrived float64
	// Waiting is the number of requests in the queue; WaitingSince is when
	// the queue last became non-empty (zero while it is empty).
	Waiting      float64
	WaitingSince time.Time
	// ReadyPods is the number of ready pods; Pods all of them.
	ReadyPods, Pods int
	// Waits are the waits of the served requests that waited, in order.
	Waits []time.Duration
}

// Gateway returns the gateway's state for a model, after advancing.
func (e *Emulator) Gateway(namespace, model string) (GatewayState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, err := e.model(namespace, model)
	if err != nil {
		return GatewayState{}, err
	}
	now := e.now()
	e.advanceLocked(now)
	ready, _ := st.readyPods(now)
	return GatewayState{Arrived: st.arrived, Waiting: st.queued, WaitingSince: st.queueSince,
		ReadyPods: len(ready), Pods: len(st.pods), Waits: append([]time.Duration(nil), st.waited...)}, nil
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
			if n, ok := e.replicaSource(k.namespace, k.model); ok && n >= 0 && n != st.replicas {
				e.resize(k, st, n, now)
			}
		}
		e.drain(st, now)
		if now.After(st.last) {
			tl := st.timeline
			a, b := st.last.Sub(tl.origin), now.Sub(tl.origin)
			st.last = now
			st.carry += tl.requests(a, b)
			if whole := math.Floor(st.carry); whole >= 1 {
				st.carry -= whole
				e.arrive(k, st, whole, now)
			}
		}
		e.finish(k, st, now)
		e.setGauges(k, st, now)
	}
}

// arrive takes n requests at the gateway at time t: handed to the ready
// pods, or queued while there is none.
func (e *Emulator) arrive(k modelKey, st *modelState, n float64, t time.Time) {
	if n <= 0 {
		return
	}
	st.arrived += n
	if ready, _ := st.readyPods(t); len(ready) > 0 {
		st.dispatch(n, 0, t)
		return
	}
	if st.queued == 0 {
		st.queueSince = t
	}
	st.queue = append(st.queue, waiting{at: t, n: n})
	st.queued += n
}

// drain dispatches the gateway's queue once a pod is ready: each request
// waited from its arrival until the first pod was ready.
func (e *Emulator) drain(st *modelState, now time.Time) {
	if st.queued == 0 {
		return
	}
	ready, since := st.readyPods(now)
	if len(ready) == 0 {
		return
	}
	for _, w := range st.queue {
		wait := max(since.Sub(w.at), 0)
		st.dispatch(w.n, wait, now)
		for range int(w.n) {
			st.waited = append(st.waited, wait)
		}
	}
	st.queue, st.queued, st.queueSince = nil, 0, time.Time{}
}

// dispatch hands n requests to the ready pods at t, after waiting before
// at the gateway.
func (st *modelState) dispatch(n float64, before time.Duration, t time.Time) {
	st.backlog = append(st.backlog, waiting{at: t, n: n, before: before})
	st.backlogged += n
}

// burstAtCapacity is how much of their throughput ready pods that have
// been idle finish at once.
const burstAtCapacity = time.Second

// finish has the ready pods finish their backlog, oldest first, at their
// capacity (saturatedAt): under it every request handed to them is served
// in the advance it arrives in; beyond it the rest wait in the pods'
// queues, which the waiting gauge shows, and the batch is full.
func (e *Emulator) finish(k modelKey, st *modelState, now time.Time) {
	ready, readySince := st.readyPods(now)
	if len(ready) == 0 {
		return
	}
	in, out := st.timeline.tokens(now.Sub(st.timeline.origin))
	_, perServer := saturatedAt(st.profile, in, out)
	servers := float64(len(ready) * e.serversPerPod())
	capacity := perServer * servers
	if st.finishedAt.Before(readySince) {
		st.finishedAt = readySince
	}
	since := now.Sub(st.finishedAt).Seconds()
	st.finishedAt = now
	// Idle time earns no more than one advance's worth (or a burst's),
	// besides the fraction of a request carried over.
	st.credit = math.Min(st.credit+capacity*since, 1+capacity*math.Max(since, burstAtCapacity.Seconds()))
	// Requests left over are in the pods' batches while they fit (a burst
	// is admitted at once; completions are counted whole at each advance,
	// so near capacity a few are always carried over): only beyond that do
	// requests wait, with the batches full.
	st.queueing = st.backlogged-math.Floor(st.credit) > float64(st.profile.MaxBatchSize)*servers
	for len(st.backlog) > 0 && st.credit >= 1 {
		w := &st.backlog[0]
		n := math.Min(w.n, math.Floor(st.credit))
		wait := w.before
		if st.queueing {
			wait += now.Sub(w.at)
		}
		e.serve(k, st, ready, n, wait, st.queueing, now)
		w.n -= n
		st.backlogged -= n
		st.credit -= n
		if w.n == 0 {
			st.backlog = st.backlog[1:]
		}
	}
}

// serve has the ready pods serve n requests round-robin; each observes the
// phase's tokens and the predicted latencies, its TTFT plus wait. With
// full, the pods' batches are full (requests are left waiting).
func (e *Emulator) serve(k modelKey, st *modelState, ready []pod, n float64, wait time.Duration, full bool, t time.Time) {
	per := e.serversPerPod()
	in, out := st.timeline.tokens(t.Sub(st.timeline.origin))
	sv := st.servingNow(t, len(ready)*per, full)
	ttft := sv.ttft + wait.Seconds()
	st.total += n
	// Every output token after the first is one observation of the ITL.
	decodeTokens := int(math.Round(math.Max(out, 1) - 1))
	for range int(n) {
		i := st.rr % (len(ready) * per)
		st.rr++
		lv := e.server(k, ready[i/per], i%per)
		e.requests.WithLabelValues(slices.Concat(lv, []string{finishedStop})...).Inc()
		e.prompt.WithLabelValues(lv...).Observe(in)
		e.generation.WithLabelValues(lv...).Observe(out)
		e.ttft.WithLabelValues(lv...).Observe(ttft)
		for _, h := range e.itl {
			o := h.WithLabelValues(lv...)
			for range decodeTokens {
				o.Observe(sv.itl)
			}
		}
		e.serving.prefill.WithLabelValues(lv...).Observe(sv.prefill)
		e.serving.inference.WithLabelValues(lv...).Observe(sv.inference)
	}
}

// servingNow is what each of servers shows now: at the scheduled rate
// shared among them, or with its batch full while requests wait in the
// pods (full).
func (st *modelState) servingNow(now time.Time, servers int, full bool) servingState {
	el := now.Sub(st.timeline.origin)
	in, out := st.timeline.tokens(el)
	if full {
		sv, _ := saturatedAt(st.profile, in, out)
		return sv
	}
	return servingAt(st.profile, st.timeline.rate(el)/float64(max(servers, 1)), in, out)
}

// setGauges shows each pod's batch and queue (zero for pods not ready
// yet); requests left waiting in the pods are shared among them.
func (e *Emulator) setGauges(k modelKey, st *modelState, now time.Time) {
	ready, _ := st.readyPods(now)
	servers := len(ready) * e.serversPerPod()
	var sv servingState
	if servers > 0 && (st.queueing || st.timeline.rate(now.Sub(st.timeline.origin)) > 0) {
		sv = st.servingNow(now, servers, st.queueing)
		if st.queueing { // beyond what the full batches hold
			sv.waiting += math.Max(st.backlogged/float64(servers)-float64(st.profile.MaxBatchSize), 0)
		}
	}
	for _, p := range st.pods {
		running, waiting := 0.0, 0.0
		if !p.readyAt.After(now) {
			running, waiting = sv.running, sv.waiting
		}
		for _, lv := range e.servers(k, p) {
			shown := running
			if !sv.saturated {
				shown = runningAt(running, lv, now)
			}
			e.serving.running.WithLabelValues(lv...).Set(shown)
			e.serving.waiting.WithLabelValues(lv...).Set(waiting)
		}
	}
}

// gather returns the vLLM series without those of failing pods.
func (e *Emulator) gather() ([]*dto.MetricFamily, error) {
	e.mu.Lock()
	failing := make(map[podKey]bool, len(e.failing))
	for k, v := range e.failing {
		failing[k] = v
	}
	e.mu.Unlock()
	families, err := e.registry.Gather()
	if err != nil || len(failing) == 0 {
		return families, err
	}
	for _, f := range families {
		kept := f.Metric[:0]
		for _, m := range f.Metric {
			var k podKey
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "namespace":
					k.namespace = l.GetValue()
				case "model_name":
					k.model = l.GetValue()
				case "pod":
					k.pod = l.GetValue()
				}
			}
			if !failing[k] {
				kept = append(kept, m)
			}
		}
		f.Metric = kept
	}
	return families, nil
}

// Handler serves GET /metrics (every pod's vLLM series, advancing first),
// GET /gateway/metrics (the gateway's series with a namespace label, as
// Prometheus sees them), GET /gateway/{namespace}/metrics (one namespace's
// gateway, as the endpoint picker serves it), POST
// /replicas?namespace=..&model=..&n=.., POST /requests?namespace=..&model=..&n=..
// and GET /healthz.
func (e *Emulator) Handler() http.Handler {
	mux := http.NewServeMux()
	metrics := promhttp.HandlerFor(prometheus.GathererFunc(e.gather), promhttp.HandlerOpts{})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		e.Advance()
		metrics.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /gateway/metrics", func(w http.ResponseWriter, _ *http.Request) {
		e.writeGateway(w, "")
	})
	mux.HandleFunc("GET /gateway/{namespace}/metrics", func(w http.ResponseWriter, r *http.Request) {
		e.writeGateway(w, r.PathValue("namespace"))
	})
	count := func(set func(ns, model string, n int) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			n, err := strconv.Atoi(q.Get("n"))
			if err == nil {
				err = set(q.Get("namespace"), q.Get("model"), n)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /replicas", count(e.SetReplicas))
	mux.HandleFunc("POST /requests", count(e.Send))
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
