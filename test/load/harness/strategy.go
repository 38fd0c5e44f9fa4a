package harness

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/rest"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
	"github.com/llm-d/variant-autoscaler/test/load/baseline"
)

// Strategies the harness compares.
const (
	// Sharded is the product's manager, unchanged (controller.SetupControllers).
	Sharded = "sharded"
	// GlobalSingle: one reconcile plans every VA.
	GlobalSingle = string(baseline.GlobalSingle)
	// GlobalPerVA: one request per VA, each planning every VA.
	GlobalPerVA = string(baseline.GlobalPerVA)
)

// AllStrategies lists the strategies in report order.
var AllStrategies = []string{Sharded, GlobalSingle, GlobalPerVA}

// Work is what an operator did so far; the same meaning for every strategy.
type Work struct {
	// Reconciles: group reconciles (sharded), global reconciles
	// (global-single) or VA reconciles (global-per-va).
	Reconciles float64
	// Evaluations: VAs planned (wva_variant_evaluations_total).
	Evaluations float64
	// StatusWrites: status writes sent (wva_status_writes_total).
	StatusWrites float64
}

// Sub returns w minus before.
func (w Work) Sub(before Work) Work {
	return Work{w.Reconciles - before.Reconciles, w.Evaluations - before.Evaluations, w.StatusWrites - before.StatusWrites}
}

// operator is a running strategy.
type operator interface {
	Store() *config.Store
	Work() Work
	// Idle reports that the workqueue holds no ready item and no worker runs.
	Idle() bool
	Stop() error
}

// startOperator starts a strategy against env with the operator's REST config.
func startOperator(strategy string, env *framework.Env, cfg *rest.Config, load *loadsource.Memory,
	namespaces []string, workers, statusWriters int, observe func(modelgroup.Key, modelgroup.Trigger)) (operator, error) {
	switch strategy {
	case Sharded:
		opEnv := *env
		opEnv.Config = cfg
		op, err := opEnv.StartOperator(controller.Options{
			ConfigNamespace:         framework.ConfigNamespace,
			Load:                    load,
			MaxConcurrentReconciles: workers,
			StatusWriters:           statusWriters,
			ObserveReconcile:        observe,
		}, namespaces...)
		if err != nil {
			return nil, err
		}
		return shardedOperator{op}, nil
	case GlobalSingle, GlobalPerVA:
		op, err := baseline.Start(cfg, baseline.Options{
			Mode:                    baseline.Mode(strategy),
			ConfigNamespace:         framework.ConfigNamespace,
			Namespaces:              namespaces,
			Load:                    load,
			MaxConcurrentReconciles: workers,
			Scheme:                  framework.Scheme,
		})
		if err != nil {
			return nil, err
		}
		return baselineOperator{op}, nil
	}
	return nil, fmt.Errorf("unknown strategy %q (known: %v)", strategy, AllStrategies)
}

type shardedOperator struct{ op *framework.Operator }

func (s shardedOperator) Store() *config.Store { return s.op.Store }
func (s shardedOperator) Stop() error          { return s.op.Stop() }
func (s shardedOperator) Idle() bool           { return controllerIdle("modelgroup") }
func (s shardedOperator) Work() Work {
	return Work{
		Reconciles:   float64(s.op.Reconciles.Total()),
		Evaluations:  counterValue(s.op.Metrics.VariantEvaluations),
		StatusWrites: counterValue(s.op.Metrics.StatusWrites),
	}
}

type baselineOperator struct{ op *baseline.Operator }

func (b baselineOperator) Store() *config.Store { return b.op.Store }
func (b baselineOperator) Stop() error          { return b.op.Stop() }
func (b baselineOperator) Idle() bool           { return controllerIdle(baseline.ControllerName(b.op.Mode)) }
func (b baselineOperator) Work() Work {
	return Work{
		Reconciles:   float64(b.op.Reconciles.Load()),
		Evaluations:  float64(b.op.Evaluations.Load()),
		StatusWrites: float64(b.op.StatusWrites.Load()),
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// controllerIdle reads controller-runtime's workqueue and worker gauges of
// a controller: no ready item queued (items waiting for RequeueAfter do
// not count) and no reconcile running.
func controllerIdle(name string) bool {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		return false
	}
	depth, active := 0.0, 0.0
	for _, f := range families {
		switch f.GetName() {
		case "workqueue_depth":
			for _, m := range f.GetMetric() {
				if labelValue(m, "name") == name {
					depth += m.GetGauge().GetValue()
				}
			}
		case "controller_runtime_active_workers":
			for _, m := range f.GetMetric() {
				if labelValue(m, "controller") == name {
					active += m.GetGauge().GetValue()
				}
			}
		}
	}
	return depth == 0 && active == 0
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
