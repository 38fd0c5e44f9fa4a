// Package hpa proves the plain-HPA wiring end to end, without KEDA or
// Prometheus: config/samples/hpa.yaml, applied as it is, makes the real HPA
// controller of kube-controller-manager set each Deployment's replicas to
// wva_desired_replicas served by the operator's external-metrics endpoint
// (package externalmetrics) through the aggregation layer.
package hpa

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/externalmetrics"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// hpaSync is the HPA controller's sync period in this cluster.
const hpaSync = 2 * time.Second

var (
	env *framework.Env
	// metrics holds the wva_desired_replicas the endpoint serves, exactly as
	// the operator's reconciler publishes it.
	metrics = controller.NewMetrics()
)

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{Workloads: &cluster.WorkloadOptions{
		Pools: []cluster.NodePool{
			{Accelerator: "H100", Nodes: 3, GPUsPerNode: 8},
			{Accelerator: "A100", Nodes: 1, GPUsPerNode: 8},
			{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
		},
		PodStartDelay: time.Second,
		HPASyncPeriod: hpaSync,
	}}, func(e *framework.Env) (func() error, error) {
		env = e
		return setUp()
	})
}

// setUp serves the external metrics from this process and registers the
// endpoint with the aggregator.
func setUp() (func() error, error) {
	ctx := context.Background()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	srvCtx, stopServer := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() {
		served <- externalmetrics.Run(srvCtx, externalmetrics.Options{
			BindAddress: fmt.Sprintf("127.0.0.1:%d", port),
			Config:      env.Config,
		}, &externalmetrics.Provider{Desired: metrics.DesiredReplicas})
	}()
	tearDown := func() error {
		stopServer()
		return <-served
	}
	if err := framework.CreateNamespace(ctx, env.Client, "wva-system"); err != nil {
		return tearDown, err
	}
	if err := cluster.RegisterLoopbackAPIService(ctx, env.Client, "external.metrics.k8s.io", "v1beta1", "wva-system", "wva-external-metrics", int32(port)); err != nil {
		return tearDown, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		ok, msg, err := cluster.APIServiceAvailable(ctx, env.Client, cluster.ExternalMetricsAPIService)
		if ok {
			return tearDown, nil
		}
		select {
		case err := <-served:
			return tearDown, fmt.Errorf("the external metrics server stopped: %w", err)
		default:
		}
		if time.Now().After(deadline) {
			return tearDown, fmt.Errorf("APIService %s not Available after a minute: %s %v", cluster.ExternalMetricsAPIService, msg, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
