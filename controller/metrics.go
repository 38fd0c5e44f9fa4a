package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Label names of the per-variant series, as HPA and KEDA samples select them.
var variantLabels = []string{"namespace", "variant_name", "target_kind", "target_name", "accelerator_type", "model_name"}

// Metrics are the operator's own series. One instance is registered per
// process; tests read the counters to prove how much work an event caused.
type Metrics struct {
	DesiredReplicas     *VariantGauge
	CurrentReplicas     *VariantGauge
	DesiredRatio        *VariantGauge
	DesiredCost         *VariantGauge
	ReplicaCapacity     *VariantGauge
	GroupReconciles     *prometheus.CounterVec
	VariantEvaluations  prometheus.Counter
	OptimizationSeconds prometheus.Histogram
	StatusWrites        prometheus.Counter
	StatusWritesPending prometheus.Gauge
	ConfigValid         *prometheus.GaugeVec
	GlobalPassDrifted   prometheus.Counter
	Groups              prometheus.Gauge

	// variants holds the five per-variant gauges above.
	variants *variantTable
}

// NewMetrics creates the series without registering them.
func NewMetrics() *Metrics {
	table, variants := newVariantGauges(
		prometheus.GaugeOpts{Name: "wva_desired_replicas", Help: "Replicas the operator wants for a variant; the input of an HPA or KEDA ScaledObject."},
		prometheus.GaugeOpts{Name: "wva_current_replicas", Help: "Replicas the variant's workload reports."},
		prometheus.GaugeOpts{Name: "wva_desired_ratio", Help: "Desired over current replicas (desired when current is 0)."},
		prometheus.GaugeOpts{Name: "wva_desired_cost_per_hour", Help: "Cost per hour of the variant's desired replicas, from the unit costs in force."},
		prometheus.GaugeOpts{Name: "wva_replica_capacity_requests_per_second", Help: "Requests per second one replica of the variant carries within the SLO at the observed request shape (0: the SLO cannot be met)."},
	)
	return &Metrics{
		DesiredReplicas: variants[gaugeDesired], CurrentReplicas: variants[gaugeCurrent], DesiredRatio: variants[gaugeRatio],
		DesiredCost: variants[gaugeCost], ReplicaCapacity: variants[gaugeCapacity], variants: table,
		GroupReconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wva_group_reconciles_total", Help: "Model-group reconciles, by what triggered them.",
		}, []string{"trigger"}),
		VariantEvaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_variant_evaluations_total", Help: "VariantAutoscalings evaluated by group reconciles.",
		}),
		OptimizationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "wva_optimization_duration_seconds", Help: "Time to plan one model group (snapshot, plan, writes).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		StatusWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_status_writes_total", Help: "VariantAutoscaling status writes sent to the API server.",
		}),
		StatusWritesPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wva_status_writes_pending", Help: "VariantAutoscaling statuses decided and not yet written (the status queue).",
		}),
		ConfigValid: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wva_config_valid", Help: "1 when the ConfigMap's latest version is valid and in force, 0 when the last good one is kept.",
		}, []string{"configmap"}),
		GlobalPassDrifted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_global_pass_drifted_groups_total", Help: "Groups the global pass found drifted and enqueued.",
		}),
		Groups: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wva_model_groups", Help: "Model groups seen by the last global pass.",
		}),
	}
}

// Register adds the series to a registry.
func (m *Metrics) Register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		m.DesiredReplicas, m.CurrentReplicas, m.DesiredRatio, m.DesiredCost, m.ReplicaCapacity, m.GroupReconciles, m.VariantEvaluations,
		m.OptimizationSeconds, m.StatusWrites, m.StatusWritesPending, m.ConfigValid, m.GlobalPassDrifted, m.Groups,
	} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}

var defaultMetrics = func() *Metrics {
	m := NewMetrics()
	if err := m.Register(crmetrics.Registry); err != nil {
		panic(err)
	}
	return m
}()

// DefaultMetrics returns the series registered with controller-runtime's
// registry, which the manager serves on its metrics endpoint.
func DefaultMetrics() *Metrics { return defaultMetrics }
