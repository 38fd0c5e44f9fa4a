// Package faults is the fault suite: one test per defect of issue 12 (bad
// input and faults), each on a real API server. Every test asserts the clear
// error on the object that carries the bad input, and that the replicas of
// every other variant and group stay as they were. docs/reliability.md maps
// each case to its test.
package faults

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

// baseConfig is the operator's configuration for the suite: long intervals
// so that nothing but the events of a test re-plans a group.
func baseConfig() map[string]map[string]string {
	return map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:    "1h",
			config.KeyGlobalPassInterval:   "1h",
			config.KeyStabilizationWindow:  "0s",
			config.KeyLoadJumpConfirmation: "1h",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
			// The largest unit cost the config accepts: times 1024
			// accelerators it is beyond what the optimizer takes.
			"XPU": `{"device": "X", "cost": "1000000"}`,
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("Premium", 1, 2000, 80, models...),
		},
		config.ScaleToZeroConfigMapName: {
			"calm": "modelID: calm\nenableScaleToZero: false\n",
		},
	}
}

// models are the model IDs the tests use; each test has its own namespace.
var models = []string{"calm", "glitch", "surge", "mixed", "wide", "cfg", "restart", "deputy", "handover-a", "handover-b", "long", "status"}

func TestMain(m *testing.M) {
	framework.Main(m, framework.WithControllers(), func(e *framework.Env) (func() error, error) {
		env = e
		ctx := context.Background()
		if err := applyConfig(ctx, baseConfig()); err != nil {
			return nil, err
		}
		load = loadsource.NewMemory(256)
		var err error
		if op, err = startOperator(nil); err != nil {
			return nil, err
		}
		if err := createBystanders(ctx); err != nil {
			return func() error { return op.Stop() }, err
		}
		return func() error { return op.Stop() }, nil
	})
}

// startOperator starts the operator as the manager binary wires it, with
// /scale actuation, the in-memory load source and env as its environment.
func startOperator(env map[string]string) (*framework.Operator, error) {
	return envStart(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Load: load, Actuation: controller.ActuationScale, Store: config.NewStore(env),
		RequireTargetOptIn: true,
	})
}

func envStart(opts controller.Options) (*framework.Operator, error) { return env.StartOperator(opts) }

func applyConfig(ctx context.Context, cms map[string]map[string]string) error {
	return framework.ApplyConfigMaps(ctx, env.Client, cms)
}
