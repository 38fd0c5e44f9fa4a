package controller

import (
	"cmp"
	"context"
	"slices"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func TestConfigWatcherAffectedGroups(t *testing.T) {
	objs := []client.Object{
		builders.MakeVA("a-h100", "ns1").Model("a").Accelerator("H100").Obj(),
		builders.MakeVA("a-l40s", "ns1").Model("a").Accelerator("L40S").Obj(),
		builders.MakeVA("a-other", "ns2").Model("a").Accelerator("L40S").ServiceClass("premium").Obj(),
		builders.MakeVA("b-fixed", "ns1").Model("b").Accelerator("H100").Cost("12").Obj(), // own cost: not by accelerator
		builders.MakeVA("c", "ns3").Model("c").Accelerator("A100").ServiceClass("premium").Obj(),
	}
	key := func(ns, m string) modelgroup.Key { return modelgroup.Key{Namespace: ns, ModelID: m} }
	cases := map[string]struct {
		change config.Change
		want   []modelgroup.Key
	}{
		"all groups":          {change: config.Change{AllGroups: true}, want: []modelgroup.Key{key("ns1", "a"), key("ns1", "b"), key("ns2", "a"), key("ns3", "c")}},
		"an accelerator cost": {change: config.Change{Accelerators: []string{"H100"}}, want: []modelgroup.Key{key("ns1", "a")}},
		"a model everywhere":  {change: config.Change{Models: []config.ModelRef{{ModelID: "a"}}}, want: []modelgroup.Key{key("ns1", "a"), key("ns2", "a")}},
		"a model in one namespace": {
			change: config.Change{Models: []config.ModelRef{{Namespace: "ns2", ModelID: "a"}}}, want: []modelgroup.Key{key("ns2", "a")},
		},
		"a service class": {change: config.Change{ServiceClasses: []string{"premium"}}, want: []modelgroup.Key{key("ns2", "a"), key("ns3", "c")}},
		"each group once": {
			change: config.Change{Accelerators: []string{"L40S", "A100"}, Models: []config.ModelRef{{ModelID: "c"}}, ServiceClasses: []string{"premium"}},
			want:   []modelgroup.Key{key("ns1", "a"), key("ns2", "a"), key("ns3", "c")},
		},
		"timers only: no group": {change: config.Change{Timers: true}},
	}
	f := newFixture(t, interceptor.Funcs{}, objs...)
	w := &ConfigWatcher{Namespace: config.DefaultNamespace, Store: f.store, Cache: f.client, Metrics: f.metrics}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := w.affectedGroups(context.Background(), tc.change)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b modelgroup.Key) int { return cmp.Compare(a.String(), b.String()) })
			if diff := gocmp.Diff(tc.want, got); diff != "" {
				t.Errorf("groups (-want +got):\n%s", diff)
			}
		})
	}
}
