// Package cluster runs limited capacity on the local cluster with GPU node
// pools (kube-scheduler, kube-controller-manager and kwok): the operator's
// budgets keep two models of different priority within one H100 pool, so
// that the scheduler places every pod of theirs, through a node removed and
// added and a load that squeezes the less important model to its minimum;
// without budgets, the same loads leave pods Pending.
package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env  *framework.Env
	op   *framework.Operator
	load *loadsource.Memory
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{Workloads: &cluster.WorkloadOptions{
		Pools: []cluster.NodePool{
			{Accelerator: "H100", Nodes: 2, GPUsPerNode: 4},
			{Accelerator: "A100", Nodes: 1, GPUsPerNode: 8},
		},
		PodStartDelay: time.Second,
	}}, func(e *framework.Env) (func() error, error) {
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
			"SCALE_UP_MAX_REPLICAS": "100",
			config.KeyCapacityMode:  "limited",
		},
		config.UnitCostsConfigMapName: {
			// The pools' product labels map onto the types through the devices.
			"H100": framework.UnitCost(cluster.AcceleratorOf("H100").Product, 100),
			"A100": framework.UnitCost(cluster.AcceleratorOf("A100").Product, 60),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("premium", 1, 2000, 80, "chat"),
			"batch.yaml":   framework.ServiceClass("batch", 9, 2000, 80, "batch"),
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
