package harness

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// The actuation clock keeps each group's first reconcile after the event,
// ignores reconciles before start, and leaves out VAs whose group did not run.
func TestActuationClock(t *testing.T) {
	ga, gb := modelgroup.Key{Namespace: "a", ModelID: "m"}, modelgroup.Key{Namespace: "b", ModelID: "m"}
	va1, va2, va3 := types.NamespacedName{Namespace: "a", Name: "1"}, types.NamespacedName{Namespace: "a", Name: "2"},
		types.NamespacedName{Namespace: "b", Name: "3"}
	groupOf := map[types.NamespacedName]modelgroup.Key{va1: ga, va2: ga, va3: gb}

	c := newActuationClock()
	c.observe(ga, modelgroup.TriggerVA) // before start: not counted
	c.start(time.Now())
	if got := c.latencies([]types.NamespacedName{va1, va3}, groupOf); len(got) != 0 {
		t.Fatalf("latencies before any reconcile after start = %v, want none", got)
	}
	c.observe(ga, modelgroup.TriggerVA)
	first := c.first[ga]
	c.observe(ga, modelgroup.TriggerVA) // a later reconcile does not move the first
	got := c.latencies([]types.NamespacedName{va1, va2, va3}, groupOf)
	want := []time.Duration{first.Sub(c.t0), first.Sub(c.t0)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("latencies (-want +got):\n%s", diff)
	}
	c.start(time.Now())
	if got := c.latencies([]types.NamespacedName{va1}, groupOf); len(got) != 0 {
		t.Errorf("start did not forget the earlier phase: %v", got)
	}
}
