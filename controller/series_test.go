package controller

import (
	"testing"

	"k8s.io/utils/ptr"

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
	published := variantRecord{Series: seriesLabels(builders.MakeVA("v", "ns").Obj()), Value: 6}
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
