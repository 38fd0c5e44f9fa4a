package controller

import (
	"context"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func TestSeriesValue(t *testing.T) {
	found := modelgroup.Target{Found: true, SpecReplicas: 4, StatusReplicas: 3}
	member := func(mode llmdv1alpha1.Mode, target modelgroup.Target, owner string, recorded *int32) *modelgroup.Member {
		va := builders.MakeVA("v", "ns").Mode(mode).Obj()
		va.Status.DesiredReplicas = recorded
		return &modelgroup.Member{VA: va, Target: target, OwnerOfTarget: owner}
	}
	published := variantRecord{Series: seriesOf(builders.MakeVA("v", "ns").Obj()), Value: 6}
	cases := map[string]struct {
		vp       variantPlan
		previous variantRecord
		dryRun   bool
		want     int32
		wantOK   bool
	}{
		"planned Auto: the decision": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", nil), Planned: true, Desired: 7}, want: 7, wantOK: true,
		},
		"planned to zero: zero": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", nil), Planned: true, Desired: 0}, want: 0, wantOK: true,
		},
		"unplanned Auto: the last value published": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", ptr.To[int32](2))}, previous: published, want: 6, wantOK: true,
		},
		"unplanned Auto after a restart: the recorded decision": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", ptr.To[int32](2))}, want: 2, wantOK: true,
		},
		"unplanned Auto, nothing recorded: the workload's replicas": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", nil)}, want: 4, wantOK: true,
		},
		"Preview: the workload's replicas, not the decision": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModePreview, found, "", nil), Planned: true, Desired: 9}, previous: published, want: 4, wantOK: true,
		},
		"dry run: the workload's replicas, not the decision": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "", nil), Planned: true, Desired: 9}, dryRun: true, want: 4, wantOK: true,
		},
		"missing workload: no series": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, modelgroup.Target{}, "", nil), Planned: true, Desired: 1},
		},
		"workload sized by an older VA: no series": {
			vp: variantPlan{Member: member(llmdv1alpha1.ModeAuto, found, "older", nil), Planned: true, Desired: 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := seriesValue(&tc.vp, tc.previous, tc.dryRun)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("seriesValue = %d, %v; want %d, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

// TestPublishRecorded: after a restart the decisions recorded in the statuses
// of Auto VAs are published before any plan; Preview VAs, VAs without a
// decision and a --dry-run operator publish nothing from statuses.
func TestPublishRecorded(t *testing.T) {
	withStatus := func(w *builders.VAWrapper, desired *int32) *llmdv1alpha1.VariantAutoscaling {
		va := w.Obj()
		va.Status.DesiredReplicas, va.Status.CurrentReplicas = desired, 1
		return va
	}
	auto := withStatus(builders.MakeVA("auto", "ns"), ptr.To[int32](5))
	zero := withStatus(builders.MakeVA("zero", "ns"), ptr.To[int32](0))
	preview := withStatus(builders.MakeVA("preview", "ns").Mode(llmdv1alpha1.ModePreview), ptr.To[int32](3))
	undecided := withStatus(builders.MakeVA("undecided", "ns"), nil)
	for _, dryRun := range []bool{false, true} {
		f := newFixture(t, interceptor.Funcs{}, auto, zero, preview, undecided)
		f.rec.dryRun = dryRun
		if err := f.rec.publishRecorded(context.Background()); err != nil {
			t.Fatal(err)
		}
		got := byVariant(t, f.metrics.DesiredReplicas)
		want := map[string]float64{"auto": 5, "zero": 0}
		if dryRun {
			want = map[string]float64{}
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("dry run %v: published (-want +got):\n%s", dryRun, diff)
		}
	}
}

// byVariant reads a per-variant gauge as variant name -> value.
func byVariant(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, fam := range families {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "variant_name" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}
