// Package triggers proves the event table of docs/triggers.md with exact
// work counts: every event reconciles the groups it touches and no other.
package triggers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env  *framework.Env
	op   *framework.Operator
	load *loadsource.Memory
)

// The cluster: 4 model groups of 4 variants in 2 namespaces (3 models).
const (
	nsA = "team-a"
	nsB = "team-b"
)

var (
	llamaA   = modelgroup.Key{Namespace: nsA, ModelID: "llama"}
	graniteA = modelgroup.Key{Namespace: nsA, ModelID: "granite"}
	llamaB   = modelgroup.Key{Namespace: nsB, ModelID: "llama"}
	mistralB = modelgroup.Key{Namespace: nsB, ModelID: "mistral"}
	allKeys  = []modelgroup.Key{llamaA, graniteA, llamaB, mistralB}
	// accelerators of each group's four variants.
	groupAccelerators = map[modelgroup.Key][]string{
		llamaA:   {"H100", "A100", "L40S", "H100"},
		graniteA: {"A100", "L40S", "A100", "L40S"},
		llamaB:   {"H100", "A100", "A100", "L40S"},
		mistralB: {"L40S", "L40S", "A100", "A100"},
	}
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.WithControllers(), func(e *framework.Env) (func() error, error) {
		env = e
		if err := setUp(context.Background()); err != nil {
			return nil, err
		}
		return op.Stop, nil
	})
}

func baseConfig() map[string]map[string]string {
	return map[string]map[string]string{
		config.OperatorConfigMapName: {
			"GLOBAL_OPT_INTERVAL":  "1h", // no timer fires during a test: every reconcile has an event
			"GLOBAL_PASS_INTERVAL": "1h",
			"STABILIZATION_WINDOW": "0s",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"A100": framework.UnitCost("NVIDIA-A100-80GB", 60),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml":  framework.ServiceClass("Premium", 1, 2000, 80, "llama"),
			"standard.yaml": framework.ServiceClass("Standard", 2, 4000, 120, "granite", "mistral"),
		},
	}
}

func setUp(ctx context.Context) error {
	c := env.Client
	for _, ns := range []string{nsA, nsB, framework.ConfigNamespace} {
		if err := framework.CreateNamespace(ctx, c, ns); err != nil {
			return err
		}
	}
	if err := framework.ApplyConfigMaps(ctx, c, baseConfig()); err != nil {
		return err
	}
	load = loadsource.NewMemory(256)
	for _, k := range allKeys {
		load.SetQuietly(k, modelgroup.Load{ArrivalRate: 20, AvgInputTokens: 512, AvgOutputTokens: 128})
		for i, acc := range groupAccelerators[k] {
			name := variantName(k, i)
			if err := framework.CreateAll(ctx, c,
				framework.MakeDeployment(name, k.Namespace).Obj(),
				framework.MakeVA(name, k.Namespace).Model(k.ModelID).Accelerator(acc).Max(20).Obj(),
			); err != nil {
				return err
			}
		}
	}
	var err error
	op, err = env.StartOperator(controller.Options{ConfigNamespace: framework.ConfigNamespace, Load: load})
	return err
}

func variantName(k modelgroup.Key, i int) string {
	return fmt.Sprintf("%s-%s-v%d", k.ModelID, strings.ToLower(groupAccelerators[k][i]), i)
}
