// Package promsource holds the faults of issue 12 that need the Prometheus
// load source: an operator on a real API server reads a fake Prometheus on
// loopback that a test makes misbehave (huge bodies, series of namespaces the
// operator does not watch, plain HTTP).
package promsource

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
	prom *fakePrometheus
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.WithControllers(), func(e *framework.Env) (func() error, error) {
		env = e
		prom = newFakePrometheus()
		return prom.Close, nil
	})
}

// baseConfig points the operator at the fake Prometheus; no token (the
// fake is plain HTTP on loopback).
func baseConfig() map[string]map[string]string {
	return map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:   "2s",
			config.KeyGlobalPassInterval:  "1h",
			config.KeyStabilizationWindow: "0s",
			config.KeyPrometheusBaseURL:   prom.URL(),
		},
		config.UnitCostsConfigMapName: {"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100)},
		config.ServiceClassesConfigMapName: {
			"premium.yaml": framework.ServiceClass("Premium", 1, 2000, 80, "m"),
		},
	}
}

func applyConfig(ctx context.Context, cms map[string]map[string]string) error {
	return framework.ApplyConfigMaps(ctx, env.Client, cms)
}

// startOperator starts the operator with the Prometheus source, watching the
// given namespaces (all when none), with env as its environment.
func startOperator(t *testing.T, env map[string]string, watch ...string) (*framework.Operator, error) {
	t.Helper()
	store := config.NewStore(env)
	src, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: store, Registerer: newRegistry(), WatchNamespaces: watch})
	if err != nil {
		return nil, err
	}
	store.Subscribe(src.OnConfigChange)
	op, err := startWith(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Store: store, Load: src, Actuation: controller.ActuationScale,
	}, watch...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = op.Stop() })
	return op, nil
}

func startWith(opts controller.Options, watch ...string) (*framework.Operator, error) {
	return env.StartOperator(opts, watch...)
}
