package main

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// UID of the dashboard; links and provisioning refer to it.
const uid = "variant-autoscaler"

// datasource is the Prometheus chosen in the dashboard's datasource variable.
var datasource = dashboard.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// render builds the dashboard and returns its JSON, indented, with a final
// newline.
func render() ([]byte, error) {
	d, err := build()
	if err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// build uses the classic dashboard schema, which every Grafana since 8 and
// the dashboard sidecar import; the v2 schema needs Grafana 12.
func build() (dashboard.Dashboard, error) { //nolint:staticcheck // see above
	b := dashboard.NewDashboardBuilder("Variant autoscaler"). //nolint:staticcheck // see build

									Uid(uid).
									Description("Per model: load vs capacity, desired vs current replicas per variant, cost per hour. Operator health: reconciles, evaluations, optimization time, status writes, config validity, load source, workqueue.").
									Tags([]string{"variant-autoscaler", "llm", "autoscaling"}).
									Refresh("30s").
									Time("now-1h", "now").
									Timezone(common.TimeZoneBrowser).
									Tooltip(dashboard.DashboardCursorSyncCrosshair).
									WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").Label("Prometheus").Type("prometheus")).
									WithVariable(labelVariable("namespace", "Namespace", `label_values(wva_desired_replicas, namespace)`)).
									WithVariable(labelVariable("model", "Model", `label_values(wva_desired_replicas{namespace=~"$namespace"}, model_name)`))
	id := uint32(0)
	for _, r := range rows {
		id++
		b = b.WithRow(dashboard.NewRowBuilder(r.Title).Id(id))
		for _, p := range r.Panels {
			id++
			pb, err := panelBuilder(p, id)
			if err != nil {
				return dashboard.Dashboard{}, fmt.Errorf("panel %q: %w", p.Title, err) //nolint:staticcheck // see build
			}
			b = b.WithPanel(pb)
		}
	}
	return b.Build()
}

// labelVariable is a multi-value variable over the values of one label,
// "All" by default.
func labelVariable(name, label, query string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{String: cog.ToPtr(query)}).
		Datasource(datasource).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Selected: cog.ToPtr(true),
			Text:     dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
			Value:    dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")},
		})
}

func targets(p panel) []*prometheus.DataqueryBuilder {
	out := make([]*prometheus.DataqueryBuilder, len(p.Queries))
	for i, q := range p.Queries {
		out[i] = prometheus.NewDataqueryBuilder().
			Expr(q.Expr).
			LegendFormat(q.Legend).
			RefId(string(rune('A' + i)))
	}
	return out
}

func panelBuilder(p panel, id uint32) (cog.Builder[dashboard.Panel], error) {
	height := uint32(8)
	switch p.Kind {
	case statPanel:
		b := stat.NewPanelBuilder().Id(id).
			Title(p.Title).Description(p.Description).Unit(p.Unit).
			Datasource(datasource).Height(4).Span(p.Width).
			ColorMode(common.BigValueColorModeValue).
			GraphMode(common.BigValueGraphModeArea).
			ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
		for _, t := range targets(p) {
			b = b.WithTarget(t)
		}
		return b, nil
	case timeSeries:
		b := timeseries.NewPanelBuilder().Id(id).
			Title(p.Title).Description(p.Description).Unit(p.Unit).
			Datasource(datasource).Height(height).Span(p.Width).
			Min(0).
			LineWidth(1).FillOpacity(10).
			Legend(common.NewVizLegendOptionsBuilder().
				DisplayMode(common.LegendDisplayModeList).
				Placement(common.LegendPlacementBottom).
				ShowLegend(true))
		if p.Stacked {
			b = b.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
		}
		for _, t := range targets(p) {
			b = b.WithTarget(t)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown panel kind %d", p.Kind)
}
