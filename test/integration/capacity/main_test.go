// Package capacity proves limited capacity end to end on a real API server:
// two models of different priority sharing one H100 pool, a node removed,
// added and cordoned, the less important model squeezed to its minimum and
// back, other workloads' GPUs subtracted, Pending pods reported, and groups
// whose budget did not change left alone.
//
// The Nodes and Pods are objects created directly on the API server (no
// kubelet, scheduler or kwok): the operator reads the inventory from them as
// it would on a real cluster.
package capacity

import (
	"context"
	"testing"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env  *framework.Env
	op   *framework.Operator
	load *loadsource.Memory
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{}, func(e *framework.Env) (func() error, error) {
		env = e
		if err := setUp(context.Background()); err != nil {
			return nil, err
		}
		return op.Stop, nil
	})
}

func setUp(ctx context.Context) error {
	configMaps := map[string]map[string]string{
		config.OperatorConfigMapName: {
			"GLOBAL_OPT_INTERVAL":   "1h",
			"GLOBAL_PASS_INTERVAL":  "1h",
			"STABILIZATION_WINDOW":  "0s",
			config.KeyCapacityMode:  "limited",
			"SCALE_UP_MAX_REPLICAS": "100",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost(h100Device, 100),
			"A100": framework.UnitCost(a100Device, 60),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("premium", 1, 2000, 80, chatModel),
			"batch.yaml":   framework.ServiceClass("batch", 9, 2000, 80, batchModel),
			"embed.yaml":   framework.ServiceClass("embed", 5, 2000, 80, embedModel),
		},
	}
	if err := framework.ApplyConfigMaps(ctx, env.Client, configMaps); err != nil {
		return err
	}
	load = loadsource.NewMemory(256)
	var err error
	op, err = env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Load: load, Actuation: controller.ActuationScale,
	})
	return err
}
