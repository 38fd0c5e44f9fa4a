package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// capacityMetrics are the series of limited capacity (docs/capacity.md).
type capacityMetrics struct {
	Inventory     *prometheus.GaugeVec
	Pending       *prometheus.GaugeVec
	Limited       prometheus.Gauge
	Changed       prometheus.Counter
	Arbitrations  prometheus.Counter
	ArbitrateTime prometheus.Histogram
}

func newCapacityMetrics() *capacityMetrics {
	return &capacityMetrics{
		Inventory: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wva_accelerator_inventory", Help: "Accelerators the arbitration hands out, by type (limited capacity only).",
		}, []string{"accelerator_type"}),
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wva_accelerator_pending_pods", Help: "Pods of VA workloads Pending for lack of accelerators, by type.",
		}, []string{"accelerator_type"}),
		Limited: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wva_capacity_limited_groups", Help: "Model groups whose budget serves less than their plan without limits.",
		}),
		Changed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_capacity_budget_changes_total", Help: "Groups enqueued because the arbitration changed their budget.",
		}),
		Arbitrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_capacity_arbitrations_total", Help: "Arbitrations of the accelerator inventory.",
		}),
		ArbitrateTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wva_capacity_arbitration_duration_seconds", Help: "Time of one arbitration (claims to budgets).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
	}
}

var (
	capacityMetricsOnce sync.Once
	capacityMetricsInst *capacityMetrics
)

// defaultCapacityMetrics registers the series with controller-runtime's
// registry once per process (several managers in one test share them).
func defaultCapacityMetrics() *capacityMetrics {
	capacityMetricsOnce.Do(func() {
		capacityMetricsInst = newCapacityMetrics()
		for _, c := range []prometheus.Collector{
			capacityMetricsInst.Inventory, capacityMetricsInst.Pending, capacityMetricsInst.Limited,
			capacityMetricsInst.Changed, capacityMetricsInst.Arbitrations, capacityMetricsInst.ArbitrateTime,
		} {
			crmetrics.Registry.MustRegister(c)
		}
	})
	return capacityMetricsInst
}

func (m *capacityMetrics) observe(d time.Duration, inv inventory, arb allocator.Arbitration, pending map[modelgroup.Key]map[string]int) {
	m.Arbitrations.Inc()
	m.ArbitrateTime.Observe(d.Seconds())
	m.Changed.Add(float64(len(arb.Changed)))
	m.Inventory.Reset()
	for t, n := range inv.Available {
		m.Inventory.WithLabelValues(t).Set(float64(n))
	}
	m.Pending.Reset()
	for _, byType := range pending {
		for t, n := range byType {
			m.Pending.WithLabelValues(t).Add(float64(n))
		}
	}
	limited := 0
	for g, d := range arb.Demand {
		if d > arb.Served[g]*(1+1e-9)+1e-9 {
			limited++
		}
	}
	m.Limited.Set(float64(limited))
}
