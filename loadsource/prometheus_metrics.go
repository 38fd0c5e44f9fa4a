package loadsource

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Values of the result label of wva_load_queries_total.
const (
	resultSuccess = "success"
	resultError   = "error"
)

// promMetrics are the load source's own series.
type promMetrics struct {
	duration prometheus.Histogram
	queries  *prometheus.CounterVec
	changed  prometheus.Counter
}

// newPromMetrics registers the series on reg (default controller-runtime's
// registry). When a series is registered already (a second source in one
// process), the registered collector is shared.
func newPromMetrics(reg prometheus.Registerer) *promMetrics {
	if reg == nil {
		reg = crmetrics.Registry
	}
	m := &promMetrics{
		duration: registerOrReuse(reg, prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wva_load_refresh_duration_seconds",
			Help:    "Duration of one load refresh from Prometheus (all grouped queries).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		})),
		queries: registerOrReuse(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wva_load_queries_total",
			Help: "PromQL queries sent by the load refresher, by result (success, error).",
		}, []string{"result"})),
		changed: registerOrReuse(reg, prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wva_load_groups_changed_total",
			Help: "Model groups enqueued because their load moved beyond the tolerance or became (un)available.",
		})),
	}
	m.queries.WithLabelValues(resultSuccess)
	m.queries.WithLabelValues(resultError)
	return m
}

func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Any other conflict: count without exporting rather than fail.
	}
	return c
}
