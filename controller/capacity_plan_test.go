package controller

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

type fixedBudgets struct {
	limits  allocator.Limits
	pending map[string]int
}

func (f fixedBudgets) Budget(modelgroup.Key) (allocator.Limits, map[string]int) {
	return f.limits, f.pending
}

func limitedConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Defaults().With(config.OperatorConfigMapName, map[string]string{config.KeyCapacityMode: "limited"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// One H100 variant carrying 10 req/s per replica of 2 accelerators, at 40 req/s.
func h100Input() allocator.Input {
	return allocator.Input{
		Variants: []allocator.Variant{{
			Name: "h", Cost: 100, Max: allocator.Unbounded, Accelerator: "H100", Units: 2,
			Profile: allocator.Profile{MaxBatchSize: 1, Alpha: 90},
		}},
		SLO:  allocator.SLO{TTFT: 1e7, ITL: 1e7},
		Load: allocator.Load{Available: true, Rate: 40, AvgIn: 0, AvgOut: 2},
		Now:  time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
	}
}

func TestPlanWithinBudget(t *testing.T) {
	key := modelgroup.Key{Namespace: "ns", ModelID: "m"}
	tests := map[string]struct {
		cfg          *config.Config
		budgets      fixedBudgets
		wantReplicas int
		wantClaim    bool
		wantBudget   *allocator.BudgetReport
	}{
		"unlimited: no claim, no budget": {
			cfg: config.Defaults(), budgets: fixedBudgets{limits: allocator.Limits{"H100": 2}}, wantReplicas: 4,
		},
		"limited without a budget: the free plan and its claim": {
			cfg: limitedConfig(t), wantReplicas: 4, wantClaim: true,
		},
		"limited with a budget: planned within it": {
			cfg: limitedConfig(t), budgets: fixedBudgets{limits: allocator.Limits{"H100": 4}, pending: map[string]int{"H100": 1}},
			wantReplicas: 2, wantClaim: true,
			wantBudget: &allocator.BudgetReport{Limited: true, Limits: allocator.Limits{"H100": 4},
				Uses: map[string]int{"H100": 4}, Needs: map[string]int{"H100": 8}, Unserved: 20},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res, out, err := planWithinBudget(tc.cfg, key, 3, h100Input(), nil, tc.budgets)
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Variants[0].Replicas; got != tc.wantReplicas {
				t.Errorf("replicas %d, want %d", got, tc.wantReplicas)
			}
			if (out.Claim != nil) != tc.wantClaim {
				t.Fatalf("claim %+v, want one: %v", out.Claim, tc.wantClaim)
			}
			if out.Claim != nil {
				want := allocator.Claim{Group: "ns/m", Priority: 3, Min: map[string]int{},
					Steps:        map[string][]allocator.Step{"H100": {{Units: 2, Load: 10, Count: 4}}},
					Alternatives: map[string]allocator.Step{"H100": {Units: 2, Load: 10, Count: 1}}}
				if diff := cmp.Diff(want, *out.Claim, cmpApprox); diff != "" {
					t.Errorf("claim (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tc.wantBudget, out.Budget, cmpApprox); diff != "" {
				t.Errorf("budget (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpApprox = cmp.Comparer(func(a, b float64) bool { return a == b || (a-b < 1e-3 && b-a < 1e-3) })

func TestGroupPriority(t *testing.T) {
	classes, err := config.NewServiceClasses(
		config.ServiceClass{Name: "premium", Priority: 1, SLOs: map[config.ModelRef]config.SLO{{ModelID: "m"}: {TTFT: 100, ITL: 10}}},
		config.ServiceClass{Name: "free", Priority: 9, SLOs: map[config.ModelRef]config.SLO{{ModelID: "other"}: {TTFT: 100, ITL: 10}, {ModelID: "m2"}: {TTFT: 1, ITL: 1}}},
	)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.ServiceClasses = classes
	for name, tc := range map[string]struct {
		model   string
		classes []string
		want    int
	}{
		"by model":                  {model: "m", classes: []string{""}, want: 1},
		"the most important member": {model: "m2", classes: []string{"free", ""}, want: 9},
		"unresolved: last":          {model: "nope", classes: []string{"", "missing"}, want: lowestPriority},
	} {
		t.Run(name, func(t *testing.T) {
			if got := groupPriority(cfg, "ns", tc.model, tc.classes); got != tc.want {
				t.Errorf("priority %d, want %d", got, tc.want)
			}
		})
	}
}

func TestBudgetMessage(t *testing.T) {
	b := &allocator.BudgetReport{Limited: true, Limits: allocator.Limits{"H100": 4, "A100": 2}, Needs: map[string]int{"H100": 8}, Unserved: 12.345}
	want := "accelerator budget A100=2,H100=4 of the limited inventory; 12.35 req/s of the load cannot be served within the SLO; " +
		"without the budget the plan would use H100=8; 3 pods Pending for lack of accelerators (H100=3)"
	if got := budgetMessage(b, map[string]int{"H100": 3}); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
	b.Unserved = 0
	want = "accelerator budget A100=2,H100=4 of the limited inventory; the load is served, at a higher cost than without the budget; " +
		"without the budget the plan would use H100=8"
	if got := budgetMessage(b, nil); got != want {
		t.Errorf("message\n%s\nwant\n%s", got, want)
	}
}
