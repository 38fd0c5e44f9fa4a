package controller

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// drain returns the keys the arbiter sent on its channel.
func drain(a *CapacityArbiter) []modelgroup.Key {
	var out []modelgroup.Key
	for {
		select {
		case e := <-a.Events():
			out = append(out, e.Object)
		default:
			return out
		}
	}
}

// The arbiter's runs on a fake client: budgets from the Nodes, only the
// changed groups enqueued, Pending pods reported, budgets dropped when the
// mode goes back to unlimited.
func TestCapacityArbiterRun(t *testing.T) {
	ctx := context.Background()
	store := config.NewStore(nil)
	for name, data := range map[string]map[string]string{
		config.OperatorConfigMapName:  {config.KeyCapacityMode: "limited"},
		config.UnitCostsConfigMapName: {"H100": builders.UnitCost("NVIDIA-H100", 100)},
	} {
		if _, err := store.Update(name, data); err != nil {
			t.Fatal(err)
		}
	}
	chat := modelgroup.Key{Namespace: "a", ModelID: "chat"}
	batch := modelgroup.Key{Namespace: "b", ModelID: "batch"}
	node := gpuNode("n1", "NVIDIA-H100", 8)
	c := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(
		builders.MakeVA("chat-h100", "a").Model("chat").Obj(),
		builders.MakeVA("batch-h100", "b").Model("batch").Obj(),
		&node,
	).Build()
	a := NewCapacityArbiter(c, nil, store, modelgroup.NewTriggers(), time.Now)
	a.RecordClaim(chat, allocator.Claim{Group: chat.String(), Priority: 1, Steps: map[string][]allocator.Step{"H100": {{Units: 1, Load: 10, Count: 6}}}})
	a.RecordClaim(batch, allocator.Claim{Group: batch.String(), Priority: 9, Min: map[string]int{"H100": 1},
		Steps: map[string][]allocator.Step{"H100": {{Units: 1, Load: 10, Count: 3}}}})

	run := func(t *testing.T, want []modelgroup.Key) {
		t.Helper()
		got, err := a.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("enqueued (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, drain(a)); diff != "" {
			t.Errorf("sent (-want +got):\n%s", diff)
		}
	}
	budget := func(t *testing.T, k modelgroup.Key, want allocator.Limits, wantPending map[string]int) {
		t.Helper()
		got, pending := a.Budget(k)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("budget of %s (-want +got):\n%s", k, diff)
		}
		if diff := cmp.Diff(wantPending, pending); diff != "" {
			t.Errorf("pending of %s (-want +got):\n%s", k, diff)
		}
	}

	t.Run("first arbitration: both groups", func(t *testing.T) {
		run(t, []modelgroup.Key{chat, batch})
		budget(t, chat, allocator.Limits{"H100": 6}, nil)
		budget(t, batch, allocator.Limits{"H100": 2}, nil)
	})
	t.Run("nothing changed: nobody", func(t *testing.T) { run(t, nil) })
	t.Run("one GPU less: only the group whose budget changed", func(t *testing.T) {
		node.Status.Allocatable = gpus(7)
		if err := c.Status().Update(ctx, &node); err != nil {
			t.Fatal(err)
		}
		run(t, []modelgroup.Key{batch})
		budget(t, batch, allocator.Limits{"H100": 1}, nil)
	})
	t.Run("a Pending batch pod: batch re-planned to report it", func(t *testing.T) {
		p := gpuPod("b", "batch-h100", "", 1, unschedulable("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."))
		if err := c.Create(ctx, &p); err != nil {
			t.Fatal(err)
		}
		run(t, []modelgroup.Key{batch})
		budget(t, batch, allocator.Limits{"H100": 1}, map[string]int{"H100": 1})
	})
	t.Run("a claim that does not change its accelerators", func(t *testing.T) {
		select { // a kick left by the claims above
		case <-a.kick:
		default:
		}
		a.RecordClaim(chat, allocator.Claim{Group: chat.String(), Priority: 1, Steps: map[string][]allocator.Step{"H100": {{Units: 1, Load: 11, Count: 6}}}})
		select {
		case <-a.kick:
			t.Error("kicked for a claim whose accelerators did not change")
		default:
		}
		a.RecordClaim(chat, allocator.Claim{Group: chat.String(), Priority: 1, Steps: map[string][]allocator.Step{"H100": {{Units: 1, Load: 11, Count: 7}}}})
		select {
		case <-a.kick:
		default:
			t.Error("not kicked for a claim of one more replica")
		}
	})
	t.Run("a group gone: its GPUs go to the other", func(t *testing.T) {
		a.Forget(chat)
		run(t, []modelgroup.Key{batch})
		budget(t, batch, nil, map[string]int{"H100": 1})
	})
	t.Run("back to unlimited: every budget dropped", func(t *testing.T) {
		a.RecordClaim(chat, allocator.Claim{Group: chat.String(), Priority: 1, Steps: map[string][]allocator.Step{"H100": {{Units: 1, Load: 10, Count: 7}}}})
		run(t, []modelgroup.Key{chat, batch})
		if _, err := store.Update(config.OperatorConfigMapName, map[string]string{config.KeyCapacityMode: "unlimited"}); err != nil {
			t.Fatal(err)
		}
		run(t, []modelgroup.Key{chat, batch})
		budget(t, chat, nil, nil)
		budget(t, batch, nil, nil)
	})
}
