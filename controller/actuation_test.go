package controller

import (
	"context"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// plannedVariant is a variant the allocator sized to desired, its target at current.
func plannedVariant(w *builders.VAWrapper, current, desired int32) variantPlan {
	va := w.Obj()
	return variantPlan{
		Member:  &modelgroup.Member{VA: va, Target: modelgroup.Target{Found: true, SpecReplicas: current, StatusReplicas: current}},
		Status:  llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To(desired), Decision: &llmdv1alpha1.Decision{Reason: "LoadChange"}},
		Planned: true, Desired: desired,
	}
}

func TestActuate(t *testing.T) {
	objs := []client.Object{
		builders.MakeDeployment("auto", "ns").Obj(), builders.MakeDeployment("same", "ns").Obj(),
		builders.MakeDeployment("preview", "ns").Obj(), builders.MakeDeployment("unplanned", "ns").Obj(),
	}
	plan := func() groupPlan {
		unplanned := plannedVariant(builders.MakeVA("unplanned", "ns"), 1, 0)
		unplanned.Planned = false
		return groupPlan{Variants: []variantPlan{
			plannedVariant(builders.MakeVA("auto", "ns"), 1, 3),
			plannedVariant(builders.MakeVA("same", "ns"), 1, 1),
			plannedVariant(builders.MakeVA("preview", "ns").Mode(llmdv1alpha1.ModePreview), 1, 4),
			unplanned,
		}}
	}
	// Every VA keeps a series (seriesValue): planned Auto VAs their decision,
	// the unplanned Auto VA its last decision (none recorded here: the
	// workload's replicas), Preview and --dry-run
	// the workload's own replicas.
	cases := map[string]struct {
		actuation  Actuation
		dryRun     bool
		wantScales []scaleCall
		wantValues map[string]float64
	}{
		"scale: only planned Auto VAs whose count changes": {
			actuation: ActuationScale, wantScales: []scaleCall{{"auto", 3}},
			wantValues: map[string]float64{"auto": 3, "same": 1, "preview": 1, "unplanned": 1},
		},
		"metrics: series only, no /scale": {
			actuation:  ActuationMetrics,
			wantValues: map[string]float64{"auto": 3, "same": 1, "preview": 1, "unplanned": 1},
		},
		"dry run: no /scale, every series at the workload's replicas": {
			actuation: ActuationScale, dryRun: true,
			wantValues: map[string]float64{"auto": 1, "same": 1, "preview": 1, "unplanned": 1},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, interceptor.Funcs{}, objs...)
			f.rec.actuation, f.rec.dryRun = tc.actuation, tc.dryRun
			p := plan()
			record, err := f.rec.actuate(context.Background(), p, &groupRecord{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tc.wantScales, f.takeScales()); diff != "" {
				t.Errorf("/scale calls (-want +got):\n%s", diff)
			}
			got := map[string]float64{}
			for _, vp := range p.Variants {
				name := vp.Member.VA.Name
				if !record.Variants[name].Series.published() {
					continue
				}
				got[name] = value(t, f.metrics.DesiredReplicas, seriesOf(vp.Member.VA))
			}
			if diff := gocmp.Diff(tc.wantValues, got); diff != "" {
				t.Errorf("wva_desired_replicas by VA (-want +got):\n%s", diff)
			}
			if n := testutil.CollectAndCount(f.metrics.DesiredReplicas); n != len(tc.wantValues) {
				t.Errorf("%d wva_desired_replicas series, want %d", n, len(tc.wantValues))
			}
			if got := record.Variants["preview"].Desired; got == nil || *got != 4 {
				t.Errorf("the record of a Preview VA lost its decision: %v", got)
			}
		})
	}
}

func TestForgetVariantsDeletesOnlySeriesNoLongerPublished(t *testing.T) {
	f := newFixture(t, interceptor.Funcs{})
	kept, gone := builders.MakeVA("kept", "ns").Obj(), builders.MakeVA("gone", "ns").Obj()
	moved := builders.MakeVA("moved", "ns").Obj()
	for _, va := range []*llmdv1alpha1.VariantAutoscaling{kept, gone, moved} {
		f.metrics.publish(seriesOf(va), 2, 1)
		f.metrics.publishPlan(seriesOf(va), 80, 3.5)
	}
	movedNow := moved.DeepCopy()
	movedNow.Spec.Accelerator = "L40S" // new label values: the old series goes
	previous := &groupRecord{Variants: map[string]variantRecord{
		"kept": {Series: seriesOf(kept)}, "gone": {Series: seriesOf(gone)}, "moved": {Series: seriesOf(moved)},
		"preview": {}, // never published
	}}
	current := &groupRecord{Variants: map[string]variantRecord{
		"kept": {Series: seriesOf(kept)}, "moved": {Series: seriesOf(movedNow)},
	}}
	f.rec.forgetVariants(previous, current)
	if got := testutil.CollectAndCount(f.metrics.DesiredReplicas); got != 1 {
		t.Errorf("%d series left, want only kept's", got)
	}
	if got := value(t, f.metrics.DesiredReplicas, seriesOf(kept)); got != 2 {
		t.Errorf("kept's series = %v, want 2", got)
	}
	if got := value(t, f.metrics.DesiredCost, seriesOf(kept)); got != 80 {
		t.Errorf("kept's cost series = %v, want 80", got)
	}
	if got := testutil.CollectAndCount(f.metrics.ReplicaCapacity); got != 1 {
		t.Errorf("%d capacity series left, want only kept's", got)
	}
	// The group vanished: everything goes.
	f.rec.forgetVariants(current, nil)
	for _, c := range []*VariantGauge{f.metrics.DesiredReplicas, f.metrics.CurrentReplicas, f.metrics.DesiredRatio,
		f.metrics.DesiredCost, f.metrics.ReplicaCapacity} {
		if got := testutil.CollectAndCount(c); got != 0 {
			t.Errorf("%d series of %v left after the group vanished", got, c)
		}
	}
}

func TestWriteStatusesWritesOnlyChangedStatuses(t *testing.T) {
	unchanged := builders.MakeVA("unchanged", "ns").Obj()
	unchanged.Status.DesiredReplicas = ptr.To[int32](2)
	changed := builders.MakeVA("changed", "ns").Obj()
	deleted := builders.MakeVA("deleted", "ns").Obj()
	f := newFixture(t, interceptor.Funcs{
		SubResourcePatch: func(_ context.Context, _ client.Client, sub string, obj client.Object, _ client.Patch, _ ...client.SubResourcePatchOption) error {
			if obj.GetName() == "deleted" {
				return apierrors.NewNotFound(vaResource, "deleted")
			}
			return nil
		},
	}, unchanged.DeepCopy(), changed.DeepCopy())
	plan := groupPlan{Variants: []variantPlan{
		{Member: &modelgroup.Member{VA: unchanged}, Status: *unchanged.Status.DeepCopy()},
		{Member: &modelgroup.Member{VA: changed}, Status: llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To[int32](5)}},
		{Member: &modelgroup.Member{VA: deleted}, Status: llmdv1alpha1.VariantAutoscalingStatus{DesiredReplicas: ptr.To[int32](1)}},
	}}
	if err := f.rec.writeStatuses(context.Background(), plan); err != nil {
		t.Fatalf("a VA deleted meanwhile is not an error: %v", err)
	}
	if diff := gocmp.Diff(map[string]int{"unchanged": 0, "changed": 1}, map[string]int{
		"unchanged": f.patchesOf("unchanged"), "changed": f.patchesOf("changed"),
	}); diff != "" {
		t.Errorf("status patches (-want +got):\n%s", diff)
	}
	if d := f.va(t, "changed").Status.DesiredReplicas; d == nil || *d != 5 {
		t.Errorf("changed: desired replicas %v, want 5", d)
	}
	// StatusWrites counts attempts: changed and deleted.
	if got := testutil.ToFloat64(f.metrics.StatusWrites); got != 2 {
		t.Errorf("wva status writes = %v, want 2", got)
	}
}
