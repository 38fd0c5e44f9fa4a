package controller

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func TestDriftedGroup(t *testing.T) {
	cfg := testConfig(t)
	key := modelgroup.Key{Namespace: "ns", ModelID: "llama"}
	withStatus := func(w *builders.VAWrapper, gen int64, desired int32, reason llmdv1alpha1.DecisionReason) *llmdv1alpha1.VariantAutoscaling {
		va := w.Obj()
		va.Generation = gen
		va.Status.DesiredReplicas = ptr.To(desired)
		va.Status.Decision = &llmdv1alpha1.Decision{Reason: reason}
		return va
	}
	h := func() *llmdv1alpha1.VariantAutoscaling {
		return withStatus(builders.MakeVA("h", "ns").Model("llama"), 1, 0, llmdv1alpha1.ReasonLoadChange)
	}
	l := func() *llmdv1alpha1.VariantAutoscaling {
		return withStatus(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S"), 1, 1, llmdv1alpha1.ReasonKeepCheapest)
	}
	record := func() *groupRecord {
		return &groupRecord{
			ScaleToZero:  cfg.ScaleToZeroFor("ns", "llama"),
			KeptCheapest: "l",
			Variants: map[string]variantRecord{
				"h": {Generation: 1, Desired: ptr.To[int32](0), Reason: "LoadChange"},
				"l": {Generation: 1, Desired: ptr.To[int32](1), Reason: "KeepCheapest"},
			},
		}
	}
	cases := map[string]struct {
		members []*llmdv1alpha1.VariantAutoscaling
		rec     func() *groupRecord
		cfg     func() *config.Config
		want    bool
	}{
		"recorded choices match the cluster and the config": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), l()}, rec: record, want: false,
		},
		"no record (never planned, or forgotten)": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), l()}, rec: func() *groupRecord { return nil }, want: true,
		},
		"a member was added": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), l(), withStatus(builders.MakeVA("x", "ns").Model("llama"), 1, 0, "Optimal")},
			rec:     record, want: true,
		},
		"a member was renamed": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), withStatus(builders.MakeVA("l2", "ns").Model("llama").Accelerator("L40S"), 1, 1, "KeepCheapest")},
			rec:     record, want: true,
		},
		"a spec changed (generation)": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), withStatus(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S"), 2, 1, "KeepCheapest")},
			rec:     record, want: true,
		},
		"the status shows other desired replicas": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), withStatus(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S"), 1, 3, "KeepCheapest")},
			rec:     record, want: true,
		},
		"the status shows another reason": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), withStatus(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S"), 1, 1, "Optimal")},
			rec:     record, want: true,
		},
		"the scale-to-zero policy changed": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), l()},
			rec: func() *groupRecord {
				r := record()
				r.ScaleToZero.Enabled = !r.ScaleToZero.Enabled
				return r
			},
			want: true,
		},
		"the kept variant is no longer the cheapest": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), l()},
			rec:     record,
			cfg: func() *config.Config {
				c := testConfig(t)
				c.UnitCosts["L40S"] = config.UnitCost{Cost: 1000}
				return c
			},
			want: true,
		},
		"the kept variant may have no replica any more": {
			members: []*llmdv1alpha1.VariantAutoscaling{h(), withStatus(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S").Max(0), 1, 1, "KeepCheapest")},
			rec:     record, want: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := cfg
			if tc.cfg != nil {
				c = tc.cfg()
			}
			if got := driftedGroup(c, key, tc.members, tc.rec()); got != tc.want {
				t.Errorf("driftedGroup = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGlobalPassRunsOnItsClockAndOnIntervalChange drives the pass with a
// fake clock: it runs when GLOBAL_PASS_INTERVAL passes on that clock, and
// at once when the interval changes.
func TestGlobalPassRunsOnItsClockAndOnIntervalChange(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{}, llamaGroup()...)
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	pass := NewGlobalPass(f.rec, f.client, f.store, clk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- pass.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// expect waits for the pass to enqueue the group (never planned: drifted).
	expect := func(what string) {
		t.Helper()
		select {
		case e := <-pass.Events():
			if e.Object != llamaKey {
				t.Fatalf("%s: enqueued %v, want %v", what, e.Object, llamaKey)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no pass ran", what)
		}
	}
	waitForTimer := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !clk.HasWaiters() {
			if time.Now().After(deadline) {
				t.Fatal("the pass never set its timer")
			}
			time.Sleep(time.Millisecond)
		}
	}

	interval := f.store.Config().Operator.PassInterval
	waitForTimer()
	clk.Step(interval - time.Second)
	select {
	case e := <-pass.Events():
		t.Fatalf("a pass ran before the interval passed: %v", e.Object)
	default:
	}
	clk.Step(time.Second)
	expect("after the interval")

	// A new interval applies at once: the store tells the pass.
	waitForTimer()
	if _, err := f.store.Update(config.OperatorConfigMapName, map[string]string{
		config.KeyStabilizationWindow: "0s", config.KeyGlobalPassInterval: "2m",
	}); err != nil {
		t.Fatal(err)
	}
	expect("after the interval changed")
	waitForTimer()
	clk.Step(2 * time.Minute)
	expect("after the new interval")
}
