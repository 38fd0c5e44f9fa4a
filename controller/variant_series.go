package controller

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// VariantSeries names one variant's series: the values of variantLabels, in
// their order. The zero value names no series.
type VariantSeries struct {
	Namespace, Variant, TargetKind, TargetName, Accelerator, Model string
}

// seriesOf returns the series a VA publishes under.
func seriesOf(va *llmdv1alpha1.VariantAutoscaling) VariantSeries {
	return VariantSeries{
		Namespace: va.Namespace, Variant: va.Name,
		TargetKind: va.Spec.ScaleTargetRef.Kind, TargetName: va.Spec.ScaleTargetRef.Name,
		Accelerator: va.Spec.Accelerator, Model: va.Spec.ModelID,
	}
}

// published is false for the zero value (no series).
func (s VariantSeries) published() bool { return s != VariantSeries{} }

// The per-variant gauges, as indexes of a variantRow.
const (
	gaugeDesired = iota
	gaugeCurrent
	gaugeRatio
	gaugeCost
	gaugeCapacity
	variantGauges
)

type variantRow struct {
	values [variantGauges]float64
	set    [variantGauges]bool
}

// variantTable holds every per-variant gauge of every variant in one map,
// and makes the samples only when scraped. A prometheus.GaugeVec keeps a
// Gauge with its own label pairs for each series: at 10,000 VAs its five
// gauges were the largest item of the manager's heap (47 MiB), where the
// table holds about 150 bytes per variant.
type variantTable struct {
	mu   sync.RWMutex
	rows map[VariantSeries]variantRow
}

func (t *variantTable) set(s VariantSeries, gauge int, v float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	row := t.rows[s]
	row.values[gauge], row.set[gauge] = v, true
	t.rows[s] = row
}

// clear drops one gauge of a series (all of them when gauge < 0) and reports
// whether it was set.
func (t *variantTable) clear(s VariantSeries, gauge int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.clearLocked(s, gauge)
}

func (t *variantTable) clearLocked(s VariantSeries, gauge int) bool {
	row, ok := t.rows[s]
	switch {
	case !ok:
		return false
	case gauge < 0:
		delete(t.rows, s)
		return true
	}
	was := row.set[gauge]
	row.set[gauge] = false
	if row.set == [variantGauges]bool{} {
		delete(t.rows, s)
	} else {
		t.rows[s] = row
	}
	return was
}

// VariantGauge is one per-variant gauge (wva_desired_replicas, ...): a
// prometheus.Collector over one column of the table.
type VariantGauge struct {
	table *variantTable
	gauge int
	desc  *prometheus.Desc
}

// newVariantGauges returns a table and one gauge over it per option, in the
// order of the gauge indexes.
func newVariantGauges(opts ...prometheus.GaugeOpts) (*variantTable, []*VariantGauge) {
	t := &variantTable{rows: map[VariantSeries]variantRow{}}
	out := make([]*VariantGauge, len(opts))
	for i, o := range opts {
		out[i] = &VariantGauge{table: t, gauge: i, desc: prometheus.NewDesc(o.Name, o.Help, variantLabels, nil)}
	}
	return t, out
}

// Set sets the gauge of one series.
func (g *VariantGauge) Set(s VariantSeries, v float64) { g.table.set(s, g.gauge, v) }

// Delete removes the gauge of one series; false when it had none.
func (g *VariantGauge) Delete(s VariantSeries) bool { return g.table.clear(s, g.gauge) }

// Value returns the gauge of one series, and false when it has none.
func (g *VariantGauge) Value(s VariantSeries) (float64, bool) {
	g.table.mu.RLock()
	defer g.table.mu.RUnlock()
	row := g.table.rows[s]
	return row.values[g.gauge], row.set[g.gauge]
}

// Reset removes the gauge of every series.
func (g *VariantGauge) Reset() {
	g.table.mu.Lock()
	defer g.table.mu.Unlock()
	for s := range g.table.rows {
		g.table.clearLocked(s, g.gauge)
	}
}

// Describe implements prometheus.Collector.
func (g *VariantGauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector. The samples are made after the
// lock is released, so a scrape never holds up a reconcile for long.
func (g *VariantGauge) Collect(ch chan<- prometheus.Metric) {
	type sample struct {
		series VariantSeries
		value  float64
	}
	g.table.mu.RLock()
	samples := make([]sample, 0, len(g.table.rows))
	for s, row := range g.table.rows {
		if row.set[g.gauge] {
			samples = append(samples, sample{s, row.values[g.gauge]})
		}
	}
	g.table.mu.RUnlock()
	for _, x := range samples {
		s := x.series
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, x.value,
			s.Namespace, s.Variant, s.TargetKind, s.TargetName, s.Accelerator, s.Model)
	}
}
