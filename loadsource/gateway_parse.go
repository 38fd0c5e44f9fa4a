package loadsource

import (
	"fmt"
	"io"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// gatewayModel is what one endpoint picker reports for one model.
type gatewayModel struct {
	// Queue is the number of requests in the flow-control queue.
	Queue float64
	// Requests is the request counter (summed over priorities and flows).
	Requests float64
	// HasQueue and HasRequests say whether the series exist.
	HasQueue, HasRequests bool
}

// parseGatewayMetrics reads an EPP's text exposition and sums, per value of
// the model label, the first of requestNames and the first of queueNames that
// has a series for that model: llm-d renamed the family and exports both
// names, so the new one wins and the old one fills in for older EPPs.
func parseGatewayMetrics(r io.Reader, requestNames, queueNames []string, label string) (map[string]gatewayModel, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing the endpoint picker's metrics: %w", err)
	}
	out := map[string]gatewayModel{}
	pick := func(names []string, set func(m *gatewayModel, v float64)) {
		done := map[string]bool{} // models already read from a preferred name
		for _, name := range names {
			fam, ok := families[name]
			if !ok {
				continue
			}
			found := map[string]float64{}
			for _, m := range fam.GetMetric() {
				modelName := labelValue(m, label)
				if modelName == "" || done[modelName] {
					continue
				}
				found[modelName] += sampleValue(fam.GetType(), m)
			}
			for modelName, v := range found {
				gm := out[modelName]
				set(&gm, v)
				out[modelName] = gm
				done[modelName] = true
			}
		}
	}
	pick(requestNames, func(m *gatewayModel, v float64) { m.Requests, m.HasRequests = v, true })
	pick(queueNames, func(m *gatewayModel, v float64) { m.Queue, m.HasQueue = v, true })
	return out, nil
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func sampleValue(t dto.MetricType, m *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	default:
		return m.GetUntyped().GetValue()
	}
}
