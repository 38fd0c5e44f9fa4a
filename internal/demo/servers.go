package demo

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// servers is the demo's load source with what the vLLM servers of its
// ready pods would show Prometheus, so the operator learns their profiles
// as it does from a real cluster (controller.PodWindowSource). Each window
// it spreads every model's rate evenly over the model's ready pods, as a
// gateway does, and derives each pod's window from its variant's true
// profile with the serving physics of docs/learned-profiles.md, with a few
// percent of scatter.
type servers struct {
	*loadsource.Synthetic
	pods   client.Reader
	window time.Duration

	mu      sync.Mutex
	rng     *rand.Rand
	end     time.Time
	byGroup map[modelgroup.Key]map[string]estimator.Window
}

func newServers(source *loadsource.Synthetic, pods client.Reader, window time.Duration) *servers {
	return &servers{Synthetic: source, pods: pods, window: window, rng: rand.New(rand.NewPCG(1, 2))}
}

// PodWindows implements controller.PodWindowSource: the windows of the
// last whole window, read again once a window has passed.
func (s *servers) PodWindows(key modelgroup.Key) (windows map[string]estimator.Window, start, end time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.Now(); s.end.IsZero() || now.Sub(s.end) >= s.window {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		byGroup, err := s.read(ctx, now)
		cancel()
		if err != nil {
			return nil, time.Time{}, time.Time{} // nothing rather than a guess
		}
		s.byGroup, s.end = byGroup, now
	}
	return s.byGroup[key], s.end.Add(-s.window), s.end
}

// read lists the ready pods and computes every pod's window ending now.
func (s *servers) read(ctx context.Context, now time.Time) (map[modelgroup.Key]map[string]estimator.Window, error) {
	var pods corev1.PodList
	if err := s.pods.List(ctx, &pods, client.InNamespace(Namespace)); err != nil {
		return nil, err
	}
	byVariant := map[string]variant{}
	for _, v := range variants {
		byVariant[v.name] = v
	}
	podsOf := map[modelgroup.Key][]corev1.Pod{}
	for _, p := range pods.Items {
		if v, ok := byVariant[p.Labels["app"]]; ok && p.DeletionTimestamp == nil && podReady(&p) {
			key := modelgroup.Key{Namespace: Namespace, ModelID: v.model}
			podsOf[key] = append(podsOf[key], p)
		}
	}
	out := map[modelgroup.Key]map[string]estimator.Window{}
	for key, ps := range podsOf {
		load := s.Load(ctx, key, 0).Load
		perPod := s.Rate(key, now) / float64(len(ps))
		out[key] = map[string]estimator.Window{}
		for _, p := range ps {
			v := byVariant[p.Labels["app"]]
			w, ok := serverWindow(v.truth(), int(v.batch), perPod, requestShape{
				in: s.prompt(load.AvgInputTokens), typicalIn: load.AvgInputTokens, out: load.AvgOutputTokens}, s.window)
			if ok {
				out[key][p.Name] = s.scatter(w)
			}
		}
	}
	return out, nil
}

// prompt is a window's mean prompt length around the model's: which
// requests finish in a window varies (15%).
func (s *servers) prompt(mean float64) float64 { return s.jitter(mean, 0.15) }

// scatter adds the 2% by which measured latencies differ from the steady
// state.
func (s *servers) scatter(w estimator.Window) estimator.Window {
	wait := w.TTFT - w.PrefillTime
	w.ITL, w.PrefillTime = s.jitter(w.ITL, 0.02), s.jitter(w.PrefillTime, 0.02)
	w.TTFT = w.PrefillTime + wait
	return w
}

func (s *servers) jitter(x, rel float64) float64 { return x * math.Max(0.5, 1+rel*s.rng.NormFloat64()) }

// requestShape is a window's mean prompt and output lengths, and the
// model's typical prompt: that of the requests admitted with the window's.
type requestShape struct{ in, typicalIn, out float64 }

// serverWindow is the steady state of a server with profile p (ms) and at
// most maxBatch requests in its batch, offered rate req/s of requests of
// shape r, over a window: the physics FromWindow reads
// (estimator/physics.go) run forward to its fixed point. A server offered
// more than it can serve shows what vLLM shows then: its batch full, its
// requests served at its throughput, the rest queued (saturatedWindow).
// ok is false without traffic.
func serverWindow(p estimator.Params, maxBatch int, rate float64, r requestShape, window time.Duration) (estimator.Window, bool) {
	if rate <= 0 {
		return estimator.Window{}, false
	}
	n, itl, prefill, inService := 1.0, p.Alpha+p.Beta, 0.0, 0.0
	for range 200 {
		itl, prefill = stepTimes(p, rate, n, itl, r)
		inService = rate * (prefill + (r.out-1)*itl) / 1000
		n = math.Min(inService+1, float64(maxBatch))
	}
	if inService+1 > float64(maxBatch) {
		return saturatedWindow(p, maxBatch, rate, r, window), true
	}
	return estimator.Window{
		Requests: rate * window.Seconds(), RequestRate: rate,
		TTFT: prefill, PrefillTime: prefill, ITL: itl,
		Running: inService, InService: inService, InputTokens: r.in,
	}, true
}

// stepTimes are the mean inter-token latency and prefill time (ms) of a
// server at a request rate with n requests in its batch, from the previous
// inter-token latency (the fixed point's iterate).
func stepTimes(p estimator.Params, rate, n, itl float64, r requestShape) (float64, float64) {
	k := 1 + rate*itl/1000
	u := math.Min(0.8, rate*(p.Gamma/k+p.Delta*r.in)/1000)
	b := n - 1
	return (p.Alpha + p.Beta*n) / (1 - u),
		p.Gamma + p.Delta*(r.in+(k-1)*r.typicalIn) + p.Alpha*(1-math.Exp(-b)) + p.Beta*b
}

// saturatedWindow is a server offered more than its throughput: every
// request that finishes is replaced by a waiting one, so the batch stays at
// maxBatch and requests finish at maxBatch over their time in service. The
// rest wait: the queue grows by the difference, and the time to first token
// with it (here the mean queue of a window that starts without one); the
// prefill time, from admission, does not.
func saturatedWindow(p estimator.Params, maxBatch int, offered float64, r requestShape, window time.Duration) estimator.Window {
	n := float64(maxBatch)
	served, itl, prefill := offered, p.Alpha+p.Beta*n, 0.0
	for range 200 {
		itl, prefill = stepTimes(p, served, n, itl, r)
		served = math.Min(offered, n*1000/(prefill+(r.out-1)*itl))
	}
	queued := (offered - served) * window.Seconds() / 2
	return estimator.Window{
		Requests: served * window.Seconds(), RequestRate: served,
		TTFT: prefill + queued/served*1000, PrefillTime: prefill, ITL: itl,
		Running: n, Waiting: queued, InService: n, InputTokens: r.in,
	}
}
