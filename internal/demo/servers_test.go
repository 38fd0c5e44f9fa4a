package demo

import (
	"math"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// The demo's servers show what the estimator reads back as their true
// profile: windows over a day of load, fed as the controller feeds them,
// from the prior that the variant's wrong spec.profile (half the truth)
// gives, end within three of the estimate's standard errors of the truth,
// and within 20% (δ, seen only through the prompt's scatter between
// windows, is the least certain). At its peaks the load is beyond the
// server's throughput, as the demo's even spread over unequal pods puts it:
// those windows teach it too.
func TestServerWindowsTeachTheTrueProfile(t *testing.T) {
	var v variant
	for _, x := range variants {
		if x.name == StaleProfileVariant {
			v = x
		}
	}
	truth := v.truth()
	spec := v.specProfile()
	specParams, err := spec.Parse()
	if err != nil {
		t.Fatal(err)
	}
	prior, err := estimator.SpecPrior(estimator.Params{Alpha: specParams.Alpha, Beta: specParams.Beta, Gamma: specParams.Gamma, Delta: specParams.Delta})
	if err != nil {
		t.Fatal(err)
	}
	e, err := estimator.New(prior, estimator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s := newServers(nil, nil, 10*time.Second)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	saturated := 0
	for i := range 120 {
		rate := 0.3 + 3.5*(1+math.Sin(float64(i)/10)) // a day's ups and downs, req/s per pod
		w, ok := serverWindow(truth, int(v.batch), rate, requestShape{in: s.prompt(700), typicalIn: 700, out: 300}, s.window)
		if !ok {
			t.Fatalf("window %d at %v req/s: none", i, rate)
		}
		if w.Waiting > 0 {
			saturated++
		}
		obs, ok, err := estimator.FromWindow(s.scatter(w), int(v.batch))
		if err != nil || !ok {
			t.Fatalf("window %d: %v %v", i, ok, err)
		}
		if _, err := e.Update(at.Add(time.Duration(i)*s.window), obs); err != nil {
			t.Fatal(err)
		}
	}
	if saturated < 10 || saturated > 60 {
		t.Fatalf("%d of 120 windows beyond the server's throughput, want some but not most", saturated)
	}
	est := e.Estimate()
	got, se := est.Params, est.StdErr
	for name, q := range map[string][3]float64{"alpha": {got.Alpha, truth.Alpha, se.Alpha}, "beta": {got.Beta, truth.Beta, se.Beta},
		"gamma": {got.Gamma, truth.Gamma, se.Gamma}, "delta": {got.Delta, truth.Delta, se.Delta}} {
		if off := math.Abs(q[0] - q[1]); off > 3*q[2] || off > 0.2*q[1] {
			t.Errorf("%s learned %v ± %v, true %v (spec %v)", name, q[0], q[2], q[1], spec)
		}
	}
}

// A server without traffic shows no window; one offered more than it can
// serve shows its batch full, the same throughput however much more it is
// offered, and a queue that grows with the excess.
func TestServerWindowBounds(t *testing.T) {
	p := estimator.Params{Alpha: 12, Beta: 0.18, Gamma: 26, Delta: 0.014}
	shape := requestShape{in: 700, typicalIn: 700, out: 300}
	if _, ok := serverWindow(p, 32, 0, shape, time.Minute); ok {
		t.Error("a window without traffic")
	}
	w, ok := serverWindow(p, 32, 2, shape, time.Minute)
	if !ok || w.Requests != 120 || !(w.ITL > p.Alpha) || !(w.PrefillTime > p.Gamma) || !(w.InService > 0) || w.Waiting != 0 || w.TTFT != w.PrefillTime {
		t.Errorf("window at 2 req/s: %+v, %v", w, ok)
	}
	over, _ := serverWindow(p, 32, 10, shape, time.Minute)
	far, ok := serverWindow(p, 32, 1000, shape, time.Minute)
	if !ok || far.Running != 32 || far.InService != 32 || !(far.RequestRate > 2) || !(far.RequestRate < 10) {
		t.Errorf("window at 1000 req/s: %+v, %v, want the batch full and the server's throughput", far, ok)
	}
	if math.Abs(over.RequestRate-far.RequestRate) > 1e-9*far.RequestRate || over.ITL != far.ITL || over.PrefillTime != far.PrefillTime {
		t.Errorf("throughput at 10 and 1000 req/s differs: %+v, %+v", over, far)
	}
	if !(over.Waiting > 0) || !(far.Waiting > over.Waiting) || !(far.TTFT > over.TTFT) || !(over.TTFT > over.PrefillTime) {
		t.Errorf("queues at 10 and 1000 req/s: %+v, %+v", over, far)
	}
}

// Each model's rate is spread over its ready pods, whatever their variant;
// pods not ready get no window.
func TestServersSpreadTheModelsLoadOverItsReadyPods(t *testing.T) {
	pod := func(name, app string, ready bool) *corev1.Pod {
		status := corev1.ConditionFalse
		if ready {
			status = corev1.ConditionTrue
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: map[string]string{"app": app}},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}}}
	}
	c := fake.NewClientBuilder().WithScheme(cluster.Scheme).WithObjects(
		pod("l40s-a", "qwen-7b-l40s", true), pod("a100-a", "qwen-7b-a100", true), pod("a100-b", "qwen-7b-a100", false),
	).Build()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	src := loadsource.NewSynthetic(10*time.Minute, 4)
	src.Now = func() time.Time { return now }
	s := newServers(src, c, 10*time.Second)
	key := modelgroup.Key{Namespace: Namespace, ModelID: ModelQwen7B}
	windows, start, end := s.PodWindows(key)
	if !end.Equal(now) || end.Sub(start) != 10*time.Second {
		t.Errorf("window from %v to %v, want the 10 s before %v", start, end, now)
	}
	want := src.Rate(key, now) / 2
	if len(windows) != 2 || windows["l40s-a"].RequestRate != want || windows["a100-a"].RequestRate != want {
		t.Errorf("windows %+v, want l40s-a and a100-a at %v req/s each", windows, want)
	}
	if _, _, again := s.PodWindows(key); !again.Equal(end) {
		t.Errorf("read again within the window: ends %v, want %v", again, end)
	}
}
