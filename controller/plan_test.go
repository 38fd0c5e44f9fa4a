package controller

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(map[string]map[string]string{
		config.UnitCostsConfigMapName: {
			"H100": builders.UnitCost("H100", 100),
			"L40S": builders.UnitCost("L40S", 30),
		},
		config.ServiceClassesConfigMapName: {
			"p.yaml": builders.ServiceClass("Premium", 1, 2000, 80, "llama"),
		},
		config.OperatorConfigMapName: {"STABILIZATION_WINDOW": "0s"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func member(w *builders.VAWrapper, replicas int32) modelgroup.Member {
	va := w.Obj()
	va.Generation = 2
	return modelgroup.Member{VA: va, Target: modelgroup.Target{Found: true, SpecReplicas: replicas, StatusReplicas: replicas}}
}

type planSummary struct {
	Planned   bool
	Desired   *int32
	Reason    llmdv1alpha1.DecisionReason
	Optimized string
}

func summarize(p groupPlan) map[string]planSummary {
	out := map[string]planSummary{}
	for _, v := range p.Variants {
		s := planSummary{Planned: v.Planned, Desired: v.Status.DesiredReplicas}
		if v.Status.Decision != nil {
			s.Reason = v.Status.Decision.Reason
		}
		if c := meta.FindStatusCondition(v.Status.Conditions, llmdv1alpha1.ConditionOptimized); c != nil {
			s.Optimized = string(c.Status) + "/" + c.Reason
		}
		out[v.Member.VA.Name] = s
	}
	return out
}

func TestPlanGroup(t *testing.T) {
	busy := modelgroup.LoadReading{Available: true, Load: modelgroup.Load{ArrivalRate: 30, AvgInputTokens: 512, AvgOutputTokens: 128}}
	light := modelgroup.LoadReading{Available: true, Load: modelgroup.Load{ArrivalRate: 1, AvgInputTokens: 512, AvgOutputTokens: 128}}
	idle := modelgroup.LoadReading{Available: true, Load: modelgroup.Load{RequestsInRetention: ptr.To(0.0)}}
	cases := map[string]struct {
		members []modelgroup.Member
		load    modelgroup.LoadReading
		want    map[string]planSummary
	}{
		"missing load holds current replicas": {
			members: []modelgroup.Member{member(builders.MakeVA("h", "ns").Model("llama"), 3)},
			load:    modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing},
			want: map[string]planSummary{
				"h": {Planned: true, Desired: ptr.To[int32](3), Reason: "MetricsMissing", Optimized: "False/MetricsUnavailable"},
			},
		},
		"idle without scale to zero keeps the cheapest": {
			members: []modelgroup.Member{
				member(builders.MakeVA("h", "ns").Model("llama"), 1),
				member(builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S"), 0),
			},
			load: idle,
			want: map[string]planSummary{
				"h": {Planned: true, Desired: ptr.To[int32](0), Reason: "LoadChange", Optimized: "True/Succeeded"},
				"l": {Planned: true, Desired: ptr.To[int32](1), Reason: "KeepCheapest", Optimized: "True/Succeeded"},
			},
		},
		"unknown accelerator cost is a config problem of that VA only": {
			members: []modelgroup.Member{
				member(builders.MakeVA("h", "ns").Model("llama"), 1),
				member(builders.MakeVA("x", "ns").Model("llama").Accelerator("TPU"), 1),
			},
			load: light,
			want: map[string]planSummary{
				"h": {Planned: true, Desired: ptr.To[int32](1), Reason: "Optimal", Optimized: "True/Succeeded"},
				"x": {Optimized: "False/ConfigInvalid"},
			},
		},
		"conflict and missing target are not planned": {
			members: []modelgroup.Member{
				{VA: builders.MakeVA("gone", "ns").Model("llama").Obj()},
				{VA: builders.MakeVA("dup", "ns").Model("llama").Obj(), OwnerOfTarget: "older"},
			},
			load: busy,
			want: map[string]planSummary{
				"gone": {Optimized: "False/TargetNotFound"},
				"dup":  {Optimized: "False/TargetConflict"},
			},
		},
		"a target that cannot be read is Unknown, the rest is planned": {
			members: []modelgroup.Member{
				member(builders.MakeVA("h", "ns").Model("llama"), 1),
				{VA: builders.MakeVA("unread", "ns").Model("llama").Obj(), Target: modelgroup.Target{Err: errors.New("etcd timeout")}},
			},
			load: light,
			want: map[string]planSummary{
				"h":      {Planned: true, Desired: ptr.To[int32](1), Reason: "Optimal", Optimized: "True/Succeeded"},
				"unread": {Optimized: "Unknown/TargetReadFailed"},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			snap := &modelgroup.Snapshot{Key: modelgroup.Key{Namespace: "ns", ModelID: "llama"}, Members: tc.members, Config: testConfig(t), Load: tc.load}
			got := planGroup(snap, allocator.State{}, time.Unix(1000, 0), allocator.NewCapacityCache(16))
			if diff := cmp.Diff(tc.want, summarize(got)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			for _, v := range got.Variants {
				if v.Status.ObservedGeneration != v.Member.VA.Generation {
					t.Errorf("%s: observedGeneration = %d, want %d", v.Member.VA.Name, v.Status.ObservedGeneration, v.Member.VA.Generation)
				}
			}
		})
	}
}

// The backlog is the gateway's queue and the servers' queues: 3480 waiting
// drained within the default 2 minutes are 29 req/s on top of 1, so the
// plan is the one for 30 req/s; with BACKLOG_DRAIN_TIME=0s it is the one
// for 1 req/s.
func TestPlanGroupDrainsTheBacklog(t *testing.T) {
	plan := func(cfg *config.Config, l modelgroup.Load) map[string]planSummary {
		l.AvgInputTokens, l.AvgOutputTokens = 512, 128
		snap := &modelgroup.Snapshot{Key: modelgroup.Key{Namespace: "ns", ModelID: "llama"},
			Members: []modelgroup.Member{member(builders.MakeVA("h", "ns").Model("llama"), 1)},
			Config:  cfg, Load: modelgroup.LoadReading{Available: true, Load: l}}
		return summarize(planGroup(snap, allocator.State{}, time.Unix(1000, 0), allocator.NewCapacityCache(16)))
	}
	cfg := testConfig(t)
	queued := modelgroup.Load{ArrivalRate: 1, Waiting: 1740, ServerWaiting: 1740}
	want := plan(cfg, modelgroup.Load{ArrivalRate: 30})
	if *want["h"].Desired <= *plan(cfg, modelgroup.Load{ArrivalRate: 1})["h"].Desired {
		t.Fatalf("the test needs 30 req/s to want more replicas than 1 req/s: %+v", want)
	}
	if diff := cmp.Diff(want, plan(cfg, queued)); diff != "" {
		t.Errorf("with 3480 waiting (-as 30 req/s +got):\n%s", diff)
	}
	off := *cfg
	off.Operator.BacklogDrainTime = 0
	if diff := cmp.Diff(plan(&off, modelgroup.Load{ArrivalRate: 1}), plan(&off, queued)); diff != "" {
		t.Errorf("with the drain off (-as 1 req/s +got):\n%s", diff)
	}
}

func TestPlanGroupIsStableForUnchangedInput(t *testing.T) {
	snap := &modelgroup.Snapshot{
		Key:     modelgroup.Key{Namespace: "ns", ModelID: "llama"},
		Members: []modelgroup.Member{member(builders.MakeVA("h", "ns").Model("llama"), 2)},
		Config:  testConfig(t),
		Load:    modelgroup.LoadReading{Available: true, Load: modelgroup.Load{ArrivalRate: 30, AvgInputTokens: 512, AvgOutputTokens: 128}},
	}
	cache := allocator.NewCapacityCache(16)
	first := planGroup(snap, allocator.State{}, time.Unix(1000, 0), cache)
	// Feed the written status back, as the cache would after the write.
	snap.Members[0].VA.Status = first.Variants[0].Status
	second := planGroup(snap, first.State, time.Unix(1060, 0), cache)
	if diff := cmp.Diff(first.Variants[0].Status, second.Variants[0].Status); diff != "" {
		t.Errorf("a second plan of the same input changed the status (so it would write again):\n%s", diff)
	}
}
