package learning

import (
	"math"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

func va(profile llmdv1alpha1.Profile) *llmdv1alpha1.VariantAutoscaling {
	return &llmdv1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: "v", Namespace: "ns"},
		Spec:       llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "L40S", Profile: profile},
	}
}

// window is one pod's window of a server with profile truth at batch b
// (counters exported, no queueing).
func window(b float64, i int) estimator.Window {
	in := 150 + float64(i%7)*20
	return estimator.Window{Requests: 100, RequestRate: 0.01, InService: b - 1, InputTokens: in,
		ITL: truth.Decode(b), TTFT: truth.Gamma + truth.Delta*in + truth.Alpha*(1-expm(b-1)) + truth.Beta*(b-1)}
}

func expm(x float64) float64 { return math.Exp(-x) }

func TestTrackerFeedsOnceAndResumesFromStatus(t *testing.T) {
	tr := NewTracker(estimator.Config{})
	v := va(llmdv1alpha1.Profile{})
	end := at
	for i := range 60 {
		end = at.Add(time.Duration(i) * time.Minute)
		n, err := tr.Observe(v, end.Add(-time.Minute), end, []estimator.Window{window(float64(2+i%40), i), window(float64(3+i%40), i+1)}, 64)
		if err != nil || n != 2 {
			t.Fatalf("window %d: fed %d, %v", i, n, err)
		}
	}
	// The same window again (a second reconcile): nothing fed.
	if n, err := tr.Observe(v, end.Add(-time.Minute), end, []estimator.Window{window(5, 0)}, 64); n != 0 || err != nil {
		t.Errorf("a window fed twice: %d %v", n, err)
	}
	before, prior, err := tr.Estimate(v)
	if err != nil || before.DecodeSamples != 120 || prior.Source != "default for L40" {
		t.Fatalf("estimate %+v, prior %q, %v", before, prior.Source, err)
	}

	// A restarted operator: a new tracker, the VA with its status.
	v.Status.LearnedProfile = ToStatus(before, prior.Source)
	fresh := NewTracker(estimator.Config{})
	after, _, err := fresh.Estimate(v)
	if err != nil {
		t.Fatal(err)
	}
	if after.DecodeSamples != before.DecodeSamples || worst(after.Params, before.Params) > 1e-5 {
		t.Errorf("resumed %+v, was %+v", after.Params, before.Params)
	}
	// Windows up to the last update are not fed again after the restart.
	if n, _ := fresh.Observe(v, end.Add(-time.Minute), end, []estimator.Window{window(5, 0)}, 64); n != 0 {
		t.Errorf("fed %d windows from before the restart", n)
	}
	// The first window read after the restart began before the last update:
	// its first half is in the estimate already, so it is not fed; the one
	// after it is.
	overlapping := end.Add(30 * time.Second)
	if n, _ := fresh.Observe(v, overlapping.Add(-time.Minute), overlapping, []estimator.Window{window(5, 0)}, 64); n != 0 {
		t.Errorf("fed %d windows overlapping the stored estimate's last one", n)
	}
	next := overlapping.Add(time.Minute)
	if n, err := fresh.Observe(v, overlapping, next, []estimator.Window{window(5, 0)}, 64); n != 1 || err != nil {
		t.Errorf("the window after the overlapping one: fed %d, %v", n, err)
	}
	// Later windows may overlap the previous one by a little (the load
	// source reads them up to a twentieth early): they are fed.
	if n, err := fresh.Observe(v, next.Add(-3*time.Second), next.Add(57*time.Second), []estimator.Window{window(6, 1)}, 64); n != 1 || err != nil {
		t.Errorf("a window read a little early: fed %d, %v", n, err)
	}
}

func TestTrackerRestartsOnANewSpecAndReportsBadStatus(t *testing.T) {
	tr := NewTracker(estimator.Config{})
	v := va(llmdv1alpha1.Profile{})
	for i := range 20 {
		if _, err := tr.Observe(v, at.Add(time.Duration(i-1)*time.Minute), at.Add(time.Duration(i)*time.Minute), []estimator.Window{window(float64(2+i), i)}, 64); err != nil {
			t.Fatal(err)
		}
	}
	// The user adds a spec profile: learning restarts from it.
	v.Spec.Profile = llmdv1alpha1.Profile{MaxBatchSize: 64,
		Decode: llmdv1alpha1.DecodeParameters{Alpha: "20", Beta: "0.5"}, Prefill: llmdv1alpha1.PrefillParameters{Gamma: "30", Delta: "0.04"}}
	est, prior, err := tr.Estimate(v)
	if err != nil || prior.Source != "spec" || est.DecodeSamples != 0 || est.Params.Alpha != 20 {
		t.Errorf("after a spec change: %+v from %q, %v", est, prior.Source, err)
	}

	// A corrupt status on a fresh tracker: an error, and learning starts over.
	bad := va(llmdv1alpha1.Profile{})
	bad.Name = "bad"
	bad.Status.LearnedProfile = ToStatus(est, "default for L40")
	bad.Status.LearnedProfile.Decode.Alpha = "garbage"
	est2, _, err := NewTracker(estimator.Config{}).Estimate(bad)
	if err == nil || !strings.Contains(err.Error(), "learning starts over") || est2.DecodeSamples != 0 {
		t.Errorf("corrupt status: %+v, %v", est2, err)
	}
	tr.Forget(types.NamespacedName{Namespace: "ns", Name: "v"})
}

func TestTrackerReportsBadWindows(t *testing.T) {
	tr := NewTracker(estimator.Config{})
	v := va(llmdv1alpha1.Profile{})
	good := window(8, 0)
	bad := good
	bad.TTFT = -1
	n, err := tr.Observe(v, at.Add(-time.Minute), at, []estimator.Window{good, bad}, 64)
	if n != 1 || err == nil {
		t.Errorf("fed %d, %v; want the good window fed and the bad one reported", n, err)
	}
}

func worst(a, b estimator.Params) float64 {
	d := 0.0
	for _, p := range [][2]float64{{a.Alpha, b.Alpha}, {a.Beta, b.Beta}, {a.Gamma, b.Gamma}, {a.Delta, b.Delta}} {
		if p[1] != 0 {
			d = max(d, (p[0]-p[1])/p[1], (p[1]-p[0])/p[1])
		}
	}
	return d
}

// Reading the estimate of a VA never fed keeps nothing: at 10,000 VAs the
// estimators of VAs without pods were 9 MiB of the manager's heap.
func TestTrackerKeepsOnlyFedVAs(t *testing.T) {
	tr := NewTracker(estimator.Config{})
	idle, fed := va(llmdv1alpha1.Profile{}), va(llmdv1alpha1.Profile{})
	fed.Name = "fed"
	est, prior, err := tr.Estimate(idle)
	if err != nil || est.DecodeSamples != 0 || prior.Source != "default for L40" {
		t.Fatalf("estimate of an idle VA: %+v, prior %q, %v", est, prior.Source, err)
	}
	if _, err := tr.Observe(fed, at.Add(-time.Minute), at, []estimator.Window{window(4, 0)}, 64); err != nil {
		t.Fatal(err)
	}
	var kept []types.NamespacedName
	for k := range tr.byVA {
		kept = append(kept, k)
	}
	if want := []types.NamespacedName{{Namespace: "ns", Name: "fed"}}; len(kept) != 1 || kept[0] != want[0] {
		t.Errorf("tracked %v, want %v", kept, want)
	}
}
