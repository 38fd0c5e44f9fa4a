// Package keda proves the KEDA wiring end to end: config/samples/
// keda-scaledobject.yaml, applied with only its Prometheus address changed,
// makes the real KEDA operator and adapter (built by hack/cluster/keda) and
// the HPA they create in kube-controller-manager set each Deployment's
// replicas to wva_desired_replicas, read from a real Prometheus that scrapes
// the operator's metrics. KEDA's adapter listens on every interface, so the
// whole package runs in a network namespace of its own (see
// framework.IsolateNetwork).
package keda

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	// hpaSync is the HPA controller's sync period here, equal to the
	// samples' KEDA pollingInterval (5 s), so that "two sync periods" bounds
	// both the HPA's changes and KEDA's own 0 <-> 1 activation.
	hpaSync = 5 * time.Second
	// scrape is Prometheus' scrape interval.
	scrape = time.Second
)

var (
	env *framework.Env
	// metrics holds wva_desired_replicas exactly as the operator's
	// reconciler publishes it; Prometheus scrapes it from this process.
	metrics = controller.NewMetrics()
	prom    *cluster.Prometheus
	keda    *cluster.KEDA
)

func TestMain(m *testing.M) {
	framework.IsolateNetwork()
	framework.Main(m, framework.Options{Workloads: &cluster.WorkloadOptions{
		Pools: []cluster.NodePool{
			{Accelerator: "H100", Nodes: 5, GPUsPerNode: 8},
			{Accelerator: "A100", Nodes: 1, GPUsPerNode: 8},
			{Accelerator: "MI300X", Nodes: 1, GPUsPerNode: 8},
		},
		PodStartDelay: time.Second,
		HPASyncPeriod: hpaSync,
	}}, func(e *framework.Env) (func() error, error) {
		env = e
		return setUp()
	})
}

// setUp serves the metrics on loopback, starts Prometheus scraping them and
// starts KEDA.
func setUp() (func() error, error) {
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	if err := metrics.Register(reg); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	tearDown := func() error {
		return errors.Join(keda.Stop(), prom.Stop(), srv.Close())
	}
	dir, err := os.MkdirTemp(env.Dir, "prometheus-")
	if err != nil {
		return tearDown, err
	}
	assets, err := framework.AssetsDir()
	if err != nil {
		return tearDown, err
	}
	if prom, err = cluster.StartPrometheus(ctx, assets, dir, scrape, l.Addr().String()); err != nil {
		return tearDown, fmt.Errorf("starting Prometheus: %w", err)
	}
	if keda, err = env.StartKEDA(ctx); err != nil {
		return tearDown, fmt.Errorf("starting KEDA: %w", err)
	}
	return tearDown, nil
}
