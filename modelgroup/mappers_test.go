package modelgroup

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/test/builders"
)

func TestGroupsOfVAChange(t *testing.T) {
	base := builders.MakeVA("a", "ns").Model("m1").Obj()
	base.Generation = 1
	cases := map[string]struct {
		mutate   func(*builders.VAWrapper)
		wantKeys []Key
	}{
		"status only": {
			mutate: func(w *builders.VAWrapper) { w.Status.CurrentReplicas = 3 },
		},
		"spec change": {
			mutate:   func(w *builders.VAWrapper) { w.Max(4); w.Generation = 2 },
			wantKeys: []Key{{"ns", "m1"}},
		},
		"label change": {
			mutate:   func(w *builders.VAWrapper) { w.Label("team", "x") },
			wantKeys: []Key{{"ns", "m1"}},
		},
		"model change enqueues both groups": {
			mutate:   func(w *builders.VAWrapper) { w.Model("m2"); w.Generation = 2 },
			wantKeys: []Key{{"ns", "m2"}, {"ns", "m1"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			updated := &builders.VAWrapper{VariantAutoscaling: *base.DeepCopy()}
			tc.mutate(updated)
			if diff := cmp.Diff(tc.wantKeys, GroupsOfVAChange(base, updated.Obj())); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTriggersKeepTheFirstReasonUntilTaken(t *testing.T) {
	tr := NewTriggers()
	k := Key{"ns", "m"}
	tr.Record(k, TriggerConfig)
	tr.Record(k, TriggerVA)
	if got := tr.Take(k); got != TriggerConfig {
		t.Fatalf("Take = %q, want %q", got, TriggerConfig)
	}
	if got := tr.Take(k); got != TriggerRequeue {
		t.Fatalf("Take after Take = %q, want %q", got, TriggerRequeue)
	}
}
