package vactl

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(map[string]map[string]string{
		config.UnitCostsConfigMapName: {"H100": builders.UnitCost("h", 100), "L40S": builders.UnitCost("l", 25)},
		config.ServiceClassesConfigMapName: {
			"a.yaml": builders.ServiceClass("Premium", 1, 500, 50, "m"),
			"b.yaml": builders.ServiceClass("Gold", 2, 300, 80, "m2"),
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A group is resolved as the operator resolves it: members without a cost
// or with a target conflict are left out with the reason, and the group
// meets the strictest SLO of its planned members.
func TestNewGroup(t *testing.T) {
	conflict := builders.MakeVA("c", "ns").Model("m").Obj()
	conflict.Status.Conditions = append(conflict.Status.Conditions, metaCondition(llmdv1alpha1.ConditionTargetResolved, llmdv1alpha1.ConditionReasonTargetConflict, "owned by a"))
	vas := []llmdv1alpha1.VariantAutoscaling{
		*builders.MakeVA("l40s", "ns").Model("m").Accelerator("L40S").Obj(),
		*builders.MakeVA("h100", "ns").Model("m").Accelerator("H100").Max(3).Obj(),
		*builders.MakeVA("nocost", "ns").Model("m").Accelerator("TPU").Obj(),
		*builders.MakeVA("gold", "ns").Model("m").Accelerator("H100").ServiceClass("Gold").Obj(),
		*conflict,
	}
	g := newGroup(testConfig(t), "ns", "m", vas)
	var names, skipped []string
	for _, m := range g.Members {
		names = append(names, m.VA.Name)
		if m.Skip != "" {
			skipped = append(skipped, m.VA.Name)
		}
	}
	if diff := cmp.Diff([]string{"c", "gold", "h100", "l40s", "nocost"}, names); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"c", "gold", "nocost"}, skipped); diff != "" {
		// gold names a class without an entry for model m.
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if want := (config.SLO{TTFT: 500, ITL: 50}); g.SLO != want {
		t.Errorf("SLO = %+v, want %+v", g.SLO, want)
	}
	if g.Members[2].Variant.Max != 3 || g.Members[3].Variant.Max != allocator.Unbounded {
		t.Errorf("bounds: h100 max %d, l40s max %d", g.Members[2].Variant.Max, g.Members[3].Variant.Max)
	}
}

// Alternatives run the allocator: each variant alone costs what its
// replicas cost, the optimum is never dearer than any single variant, and a
// variant whose maximum cannot carry the load says so.
func TestAlternatives(t *testing.T) {
	vas := []llmdv1alpha1.VariantAutoscaling{
		*builders.MakeVA("h100", "ns").Model("m").Accelerator("H100").Obj(),
		*builders.MakeVA("l40s", "ns").Model("m").Accelerator("L40S").Max(1).Obj(),
	}
	g := newGroup(testConfig(t), "ns", "m", vas)
	load := shape{Rate: 30, In: 512, Out: 128}
	alts, err := g.alternatives(load, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(alts) != 3 {
		t.Fatalf("want optimum + 2 single-variant alternatives, got %d", len(alts))
	}
	opt, h100, l40s := alts[0], alts[1], alts[2]
	if h100.Note != "" || h100.Cost != 100*float64(h100.Replicas["h100"]) || h100.Replicas["h100"] < 1 {
		t.Errorf("only h100: %+v", h100)
	}
	if l40s.Note == "" {
		t.Errorf("one L40S replica cannot carry 30 req/s, yet: %+v", l40s)
	}
	if opt.Note != "" || opt.Cost > h100.Cost {
		t.Errorf("optimum %+v dearer than h100 alone %+v", opt, h100)
	}
}

func metaCondition(typ, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
}
