// Package behaviour proves the operator's decisions end to end on a real API
// server: scale to zero, keep-cheapest, holding on missing metrics, invalid
// config, Preview, /scale actuation, target conflicts and the global pass.
package behaviour

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env  *framework.Env
	op   *framework.Operator
	load *loadsource.Memory
	// clk is the operator's clock: time rules (scale-to-zero retention) are
	// tested by stepping it, not by waiting.
	clk = clocktesting.NewFakeClock(time.Now())
)

// idleRetention is the scale-to-zero retention of the "idle" model; only the
// operator's clock ever waits for it.
const idleRetention = 10 * time.Minute

func TestMain(m *testing.M) {
	framework.Main(m, framework.WithControllers(), func(e *framework.Env) (func() error, error) {
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
			"GLOBAL_OPT_INTERVAL":  "1h",
			"GLOBAL_PASS_INTERVAL": "1h",
			"STABILIZATION_WINDOW": "0s",
		},
		config.UnitCostsConfigMapName: {
			"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
			"A100": framework.UnitCost("NVIDIA-A100-80GB", 60),
			"L40S": framework.UnitCost("NVIDIA-L40S", 30),
		},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("Premium", 1, 2000, 80,
				"idle", "quiet", "blind", "preview", "busy", "shared", "drift", "orphan"),
		},
		config.ScaleToZeroConfigMapName: {
			"idle": "modelID: idle\nenableScaleToZero: true\nretentionPeriod: " + idleRetention.String() + "\n",
		},
	}
	if err := framework.ApplyConfigMaps(ctx, env.Client, configMaps); err != nil {
		return err
	}
	load = loadsource.NewMemory(256)
	var err error
	op, err = env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Load: load, Actuation: controller.ActuationScale,
		Clock: clk,
	})
	return err
}
