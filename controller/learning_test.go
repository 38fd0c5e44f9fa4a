package controller

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// serverTruth is the profile of the servers the windows below come from.
var serverTruth = estimator.Params{Alpha: 8, Beta: 0.3, Gamma: 15, Delta: 0.02}

// serverWindow is one pod's window of a server with profile serverTruth at
// batch b and prompts of `in` tokens (counters exported, no queueing; a
// request rate low enough that the prefill corrections vanish).
func serverWindow(b, in float64) estimator.Window {
	p := serverTruth
	return estimator.Window{Requests: 100, RequestRate: 0.01, InService: b - 1, InputTokens: in, ITL: p.Decode(b),
		PrefillTime: p.Gamma + p.Delta*in + p.Alpha*(1-math.Exp(-(b-1))) + p.Beta*(b-1)}
}

func TestPodsOfVariants(t *testing.T) {
	w := func(b float64) estimator.Window { return serverWindow(b, 500) }
	va := func(name, target string) modelgroup.Member {
		return modelgroup.Member{VA: builders.MakeVA(name, "ns").Model("llama").Target(target).Obj()}
	}
	cases := map[string]struct {
		members []modelgroup.Member
		pods    map[string]estimator.Window
		want    map[string][]estimator.Window
	}{
		"one variant takes every pod, in name order": {
			members: []modelgroup.Member{va("solo", "solo")},
			pods:    map[string]estimator.Window{"pod-1": w(3), "other-x": w(2), "pod-0": w(4)},
			want:    map[string][]estimator.Window{"solo": {w(2), w(4), w(3)}},
		},
		"longest target name wins, unclaimed pods are left out": {
			members: []modelgroup.Member{va("a", "llama"), va("b", "llama-fp8")},
			pods: map[string]estimator.Window{
				"llama-5d8f7-abcde": w(2), "llama-fp8-7c9b4-xyz12": w(3), "llamafp8-1": w(4), "mistral-1": w(5),
			},
			want: map[string][]estimator.Window{"a": {w(2)}, "b": {w(3)}},
		},
		"each engine of a data-parallel pod is a server of the pod's variant": {
			members: []modelgroup.Member{va("a", "llama"), va("b", "llama-fp8")},
			pods:    map[string]estimator.Window{"llama-fp8-7c9b4-xyz12/0": w(3), "llama-fp8-7c9b4-xyz12/1": w(4), "llama-5d8f7-abcde": w(2)},
			want:    map[string][]estimator.Window{"a": {w(2)}, "b": {w(3), w(4)}},
		},
		"no pods": {
			members: []modelgroup.Member{va("a", "a"), va("b", "b")},
			want:    map[string][]estimator.Window{},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := gocmp.Diff(tc.want, podsOfVariants(tc.members, tc.pods)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// learntEstimate is an estimate fed n windows of serverTruth at batch sizes
// cycling from 2 to 161.
func learntEstimate(t *testing.T, n int) estimator.Estimate {
	t.Helper()
	tr := learning.NewTracker(estimator.Config{})
	va := builders.MakeVA("v", "ns").Model("llama").Obj()
	va.Spec.Profile = llmdv1alpha1.Profile{}
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		if _, err := tr.Observe(va, at.Add(time.Duration(i-1)*time.Minute), at.Add(time.Duration(i)*time.Minute), []estimator.Window{serverWindow(float64(2+(i*7)%160), float64(400+(i%5)*50))}, 0); err != nil {
			t.Fatal(err)
		}
	}
	est, _, err := tr.Estimate(va)
	if err != nil {
		t.Fatal(err)
	}
	return est
}

func TestChooseProfile(t *testing.T) {
	cfg := testConfig(t)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	load := modelgroup.LoadReading{Available: true, Load: modelgroup.Load{ArrivalRate: 10, AvgInputTokens: 500, AvgOutputTokens: 128}}
	ready, early := learntEstimate(t, 120), learntEstimate(t, 4)
	withSpec := builders.MakeVA("v", "ns").Model("llama")
	noSpec := func(source llmdv1alpha1.ProfileSource) *llmdv1alpha1.VariantAutoscaling {
		va := builders.MakeVA("v", "ns").Model("llama").Obj()
		va.Spec.Profile, va.Spec.ProfileSource = llmdv1alpha1.Profile{}, source
		return va
	}
	pinned := withSpec.Obj().DeepCopy()
	pinned.Spec.ProfileSource = llmdv1alpha1.ProfileSourceSpec
	spec, err := withSpec.Obj().Spec.Profile.Parse()
	if err != nil {
		t.Fatal(err)
	}
	specProfile := allocator.Profile{MaxBatchSize: spec.MaxBatchSize, Alpha: spec.Alpha, Beta: spec.Beta, Gamma: spec.Gamma, Delta: spec.Delta}
	learnedProfile := allocator.Profile{MaxBatchSize: learning.DefaultMaxBatchSize, Alpha: ready.Params.Alpha, Beta: ready.Params.Beta, Gamma: ready.Params.Gamma, Delta: ready.Params.Delta}

	cases := map[string]struct {
		va      *llmdv1alpha1.VariantAutoscaling
		learned learnedProfiles
		// wantProfile is the profile planned with (nil: held).
		wantProfile *allocator.Profile
		wantErr     string
		// wantCondition is ProfileLearned as status/reason ("" absent).
		wantCondition string
		wantStatus    bool // status.learnedProfile written
	}{
		"learning off: spec only, nothing written": {va: withSpec.Obj(), wantProfile: &specProfile},
		"learning off, no spec: the old error":     {va: noSpec(""), wantErr: "spec.profile is absent"},
		"no spec, nothing learned: hold": {va: noSpec(""), learned: learnedProfiles{"v": {}},
			wantErr: "replicas are held", wantCondition: "False/NotEnoughSamples"},
		"no spec, early: hold, the estimate is written": {va: noSpec(""), learned: learnedProfiles{"v": {Estimate: early, Prior: "p"}},
			wantErr: "replicas are held", wantCondition: "False/NotEnoughSamples", wantStatus: true},
		"no spec, learned: planned with it at vLLM's default batch": {va: noSpec(llmdv1alpha1.ProfileSourceLearned), learned: learnedProfiles{"v": {Estimate: ready, Prior: "p"}},
			wantProfile: &learnedProfile, wantCondition: "True/Learned", wantStatus: true},
		"spec, learned, Auto: the learned values at the spec's batch": {va: withSpec.Obj(), learned: learnedProfiles{"v": {Estimate: ready, Prior: "p"}},
			wantProfile:   &allocator.Profile{MaxBatchSize: spec.MaxBatchSize, Alpha: ready.Params.Alpha, Beta: ready.Params.Beta, Gamma: ready.Params.Gamma, Delta: ready.Params.Delta},
			wantCondition: "True/Learned", wantStatus: true},
		"spec pinned: spec, learning disabled": {va: pinned, learned: learnedProfiles{},
			wantProfile: &specProfile, wantCondition: "False/LearningDisabled"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m := &modelgroup.Member{VA: tc.va}
			var st llmdv1alpha1.VariantAutoscalingStatus
			got := chooseProfile(cfg, m, tc.learned, load, &st, now)
			switch {
			case tc.wantProfile != nil:
				if got.Err != nil {
					t.Fatalf("error %v, want a profile", got.Err)
				}
				if diff := gocmp.Diff(*tc.wantProfile, got.Profile); diff != "" {
					t.Errorf("profile (-want +got):\n%s", diff)
				}
			case got.Err == nil || !strings.Contains(got.Err.Error(), tc.wantErr):
				t.Errorf("error %v, want one saying %q", got.Err, tc.wantErr)
			}
			cond := ""
			if c := meta.FindStatusCondition(st.Conditions, llmdv1alpha1.ConditionProfileLearned); c != nil {
				cond = string(c.Status) + "/" + c.Reason
				if c.Message == "" {
					t.Error("ProfileLearned without a message")
				}
			}
			if cond != tc.wantCondition {
				t.Errorf("ProfileLearned %q, want %q", cond, tc.wantCondition)
			}
			if (st.LearnedProfile != nil) != tc.wantStatus {
				t.Errorf("status.learnedProfile %+v, want written %v", st.LearnedProfile, tc.wantStatus)
			}
		})
	}
}

// podSource is a PodWindowSource whose windows the test sets; each lasts
// the 2 s between the test's refreshes.
type podSource struct {
	pods map[string]estimator.Window
	end  time.Time
}

func (p *podSource) PodWindows(modelgroup.Key) (map[string]estimator.Window, time.Time, time.Time) {
	return p.pods, p.end.Add(-2 * time.Second), p.end
}

// TestReconcileLearnsAProfileAndResumes: a VA without spec.profile is held
// until its profile is learned from its pods' windows, then planned with it;
// a window is fed once however often the group is reconciled; a restarted
// reconciler resumes from the status and writes nothing new.
func TestReconcileLearnsAProfileAndResumes(t *testing.T) {
	va := builders.MakeVA("solo", "ns").Model("llama").Accelerator("L40S").Max(8).Obj()
	va.Spec.Profile = llmdv1alpha1.Profile{}
	f := newFixture(t, interceptor.Funcs{}, va, builders.MakeDeployment("solo", "ns").Obj())
	pods := &podSource{}
	f.rec.profiles, f.rec.podWindows = learning.NewTracker(estimator.Config{}), pods
	ctx := context.Background()
	reconcileOnce := func() {
		t.Helper()
		if _, err := f.rec.Reconcile(ctx, llamaKey); err != nil {
			t.Fatal(err)
		}
	}

	// No windows yet: held, and the status says why.
	reconcileOnce()
	got := f.va(t, "solo")
	if c := meta.FindStatusCondition(got.Status.Conditions, llmdv1alpha1.ConditionOptimized); c == nil ||
		c.Reason != llmdv1alpha1.ConditionReasonProfileInvalid || !strings.Contains(c.Message, "replicas are held") {
		t.Fatalf("Optimized %+v, want ProfileInvalid saying the replicas are held", c)
	}
	if cond := conditionOf(got, llmdv1alpha1.ConditionProfileLearned); cond != "False/NotEnoughSamples" {
		t.Errorf("ProfileLearned %s", cond)
	}
	if len(f.takeScales()) != 0 || got.Status.LearnedProfile != nil {
		t.Errorf("scaled or wrote a learned profile before learning anything: %+v", got.Status.LearnedProfile)
	}

	// One refresh every 2s: two pods at batch sizes that cover the range.
	for i := range 40 {
		pods.end = f.clock.Now()
		pods.pods = map[string]estimator.Window{
			"solo-5d8f7-a": serverWindow(float64(2+(i*7)%160), 500),
			"solo-5d8f7-b": serverWindow(float64(3+(i*11)%150), 450),
		}
		reconcileOnce()
		reconcileOnce() // the same window again: not fed twice
		f.clock.Step(2 * time.Second)
	}
	got = f.va(t, "solo")
	if cond := conditionOf(got, llmdv1alpha1.ConditionProfileLearned); cond != "True/Learned" {
		t.Fatalf("ProfileLearned %s: %s", cond, meta.FindStatusCondition(got.Status.Conditions, llmdv1alpha1.ConditionProfileLearned).Message)
	}
	// With the load and the SLO known, the rule is applied to a replica's
	// capacity (learning.OperatingPoint), and the message says so.
	if msg := meta.FindStatusCondition(got.Status.Conditions, llmdv1alpha1.ConditionProfileLearned).Message; !strings.Contains(msg, "capacity") {
		t.Errorf("ProfileLearned message %q does not name the capacity", msg)
	}
	if cond := conditionOf(got, llmdv1alpha1.ConditionOptimized); cond != "True/Succeeded" {
		t.Errorf("Optimized %s once learned", cond)
	}
	// The stored estimate is rewritten only when it moved (keepLearningStatus),
	// not at each of the 40 refreshes; it lags the 80 samples in memory.
	lp := got.Status.LearnedProfile
	if lp == nil || lp.DecodeSamples < 40 || lp.DecodeSamples > 80 {
		t.Fatalf("status.learnedProfile %+v, want 40 to 80 decode samples (40 windows of 2 pods, each once)", lp)
	}
	t.Logf("%d status writes over 40 refreshes; the status holds %d of 80 decode samples", f.patchesOf("solo"), lp.DecodeSamples)
	est, err := learning.FromStatus(lp)
	if err != nil {
		t.Fatal(err)
	}
	for name, pair := range map[string][2]float64{"alpha": {est.Params.Alpha, serverTruth.Alpha}, "beta": {est.Params.Beta, serverTruth.Beta},
		"gamma": {est.Params.Gamma, serverTruth.Gamma}, "delta": {est.Params.Delta, serverTruth.Delta}} {
		if math.Abs(pair[0]-pair[1]) > 0.1*pair[1] {
			t.Errorf("%s learned %v, true %v", name, pair[0], pair[1])
		}
	}

	// Learned: ten more refreshes of the same server move the estimate less
	// than the tolerances, so the status is not rewritten each time.
	learned := f.patchesOf("solo")
	for i := range 10 {
		pods.end = f.clock.Now()
		pods.pods = map[string]estimator.Window{
			"solo-5d8f7-a": serverWindow(float64(5+(i*13)%150), 480),
			"solo-5d8f7-b": serverWindow(float64(4+(i*17)%140), 470),
		}
		reconcileOnce()
		f.clock.Step(2 * time.Second)
	}
	if n := f.patchesOf("solo") - learned; n > 1 {
		t.Errorf("%d status writes over 10 refreshes of a learned profile, want at most 1", n)
	}

	// Nothing new to learn: nothing written.
	before := f.patchesOf("solo")
	reconcileOnce()
	if f.patchesOf("solo") != before {
		t.Errorf("a reconcile without a new window wrote the status")
	}

	// A restarted operator: a new reconciler on the same API server resumes
	// from the status and plans with the learned profile.
	f.rec = NewGroupReconciler(ReconcilerOptions{
		Client: f.client, Snapshots: f.rec.snapshots, Triggers: modelgroup.NewTriggers(), Recorder: f.recorder,
		Metrics: NewMetrics(), Clock: f.clock, Actuation: ActuationScale,
		Profiles: learning.NewTracker(estimator.Config{}), PodWindows: pods,
	})
	reconcileOnce()
	after := f.va(t, "solo")
	// No write: the old process planned with the stored estimate too
	// (keepLearningStatus), so the decision is the same.
	if f.patchesOf("solo") != before || conditionOf(after, llmdv1alpha1.ConditionProfileLearned) != "True/Learned" {
		t.Errorf("after a restart: %d status patches (was %d), ProfileLearned %s", f.patchesOf("solo"), before,
			conditionOf(after, llmdv1alpha1.ConditionProfileLearned))
	}
	if diff := gocmp.Diff(lp, after.Status.LearnedProfile); diff != "" {
		t.Errorf("learned profile changed across the restart (-before +after):\n%s", diff)
	}

	// The VA is deleted: its estimator is forgotten with the group.
	if err := f.client.Delete(ctx, after); err != nil {
		t.Fatal(err)
	}
	reconcileOnce()
	// Were it still tracked, a status-less copy would get its 80 samples.
	bare := after.DeepCopy()
	bare.Status = llmdv1alpha1.VariantAutoscalingStatus{}
	if e, _, _ := f.rec.profiles.Estimate(bare); e.DecodeSamples != 0 {
		t.Errorf("the deleted VA's estimator was kept (%d samples)", e.DecodeSamples)
	}
}

func TestForgetLearned(t *testing.T) {
	tr := learning.NewTracker(estimator.Config{})
	va := builders.MakeVA("gone", "ns").Model("llama").Obj()
	va.Spec.Profile = llmdv1alpha1.Profile{}
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if _, err := tr.Observe(va, at.Add(-time.Minute), at, []estimator.Window{serverWindow(8, 500)}, 0); err != nil {
		t.Fatal(err)
	}
	previous := &groupRecord{Variants: map[string]variantRecord{"gone": {}, "kept": {}}}
	current := &groupRecord{Variants: map[string]variantRecord{"kept": {}}}
	forgetLearned(tr, "ns", previous, current)
	// Forgotten: it starts again from its (empty) status.
	if est, _, _ := tr.Estimate(va); est.DecodeSamples != 0 {
		t.Errorf("a VA that left the group kept %d samples", est.DecodeSamples)
	}
}
