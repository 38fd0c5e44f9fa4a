package framework

import (
	"github.com/prometheus/client_golang/prometheus"
)

// SeriesOf counts the series of a collector that carry label=value.
func SeriesOf(c prometheus.Collector, label, value string) int {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		panic(err)
	}
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					n++
				}
			}
		}
	}
	return n
}
