// Package externalmetrics serves the operator's decisions on the Kubernetes
// external metrics API (external.metrics.k8s.io), so a plain HPA can apply
// wva_desired_replicas without Prometheus or an adapter in the path. It is
// optional (manager flag --external-metrics-bind-address) because one server
// only can hold external.metrics.k8s.io in a cluster: with KEDA or
// prometheus-adapter installed, use those instead.
//
// It is a small extension API server of its own (server.go) rather than one
// built on Kubernetes' API server libraries: those took 40 MB of the
// manager's binary and 21 MiB of its resident memory to serve one metric.
package externalmetrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
)

// MetricName is the one external metric served.
const MetricName = "wva_desired_replicas"

// Provider answers external-metric queries from the operator's
// wva_desired_replicas gauge: the same series, labels and values the
// operator publishes for Prometheus, read at query time.
type Provider struct {
	// Desired is the operator's wva_desired_replicas collector.
	Desired prometheus.Collector
	// Now stamps the values; nil means time.Now.
	Now func() time.Time
}

// Values returns the series of namespace whose labels match the selector.
// No match is an empty list, which the HPA treats as an error and holds the
// workload's replicas: a missing decision never reads as zero.
func (p *Provider) Values(namespace string, selector labels.Selector) (*v1beta1.ExternalMetricValueList, error) {
	series, err := collect(p.Desired)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	out := &v1beta1.ExternalMetricValueList{
		TypeMeta: metav1.TypeMeta{Kind: "ExternalMetricValueList", APIVersion: v1beta1.SchemeGroupVersion.String()},
		Items:    []v1beta1.ExternalMetricValue{},
	}
	for _, s := range series {
		if s.labels["namespace"] != namespace || !selector.Matches(s.labels) {
			continue
		}
		out.Items = append(out.Items, v1beta1.ExternalMetricValue{
			MetricName:   MetricName,
			MetricLabels: s.labels,
			Timestamp:    metav1.NewTime(now()),
			Value:        *resource.NewMilliQuantity(int64(s.value*1000), resource.DecimalSI),
		})
	}
	return out, nil
}

type series struct {
	labels labels.Set
	value  float64
}

// collect reads every series of a gauge collector.
func collect(c prometheus.Collector) ([]series, error) {
	ch := make(chan prometheus.Metric, 64)
	go func() {
		c.Collect(ch)
		close(ch)
	}()
	var out []series
	var firstErr error
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("reading %s: %w", MetricName, err)
			}
			continue
		}
		if d.Gauge == nil {
			continue
		}
		l := labels.Set{}
		for _, lp := range d.Label {
			l[lp.GetName()] = lp.GetValue()
		}
		out = append(out, series{labels: l, value: d.Gauge.GetValue()})
	}
	return out, firstErr
}
