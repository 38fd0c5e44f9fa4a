package main

import (
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Substitute Grafana's variables as Grafana does before sending a query:
// "All" of a multi-value variable is its allValue, .*.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "15s", "$namespace", ".*", "$model", ".*")

// The series the dashboard may use: the operator's (controller/metrics.go,
// the load source's), vLLM's and controller-runtime's.
var knownSeries = []string{
	"wva_desired_replicas", "wva_current_replicas", "wva_desired_ratio", "wva_group_reconciles_total",
	"wva_variant_evaluations_total", "wva_optimization_duration_seconds_bucket", "wva_status_writes_total",
	"wva_config_valid", "wva_global_pass_drifted_groups_total", "wva_model_groups",
	"wva_load_refresh_duration_seconds_bucket", "wva_load_queries_total", "wva_load_groups_changed_total",
	// Requested from the controller (see /work/coord/issue17.md and docs/observability.md).
	"wva_desired_cost_per_hour", "wva_replica_capacity_requests_per_second",
	"vllm:request_success_total", "vllm:num_requests_waiting", "workqueue_depth",
}

// promql is a parser with the default options (no experimental functions).
var promql = parser.NewParser(parser.Options{})

// The committed files are exactly what the generator writes.
func TestCommittedDashboardIsGenerated(t *testing.T) {
	if err := run(true); err != nil {
		t.Fatal(err)
	}
}

// Every query (and every variable's query) is valid PromQL once Grafana's
// variables are substituted, and reads only known series.
func TestEveryQueryParses(t *testing.T) {
	n := 0
	for _, r := range rows {
		for _, p := range r.Panels {
			if len(p.Queries) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, q := range p.Queries {
				n++
				expr, err := promql.ParseExpr(grafanaVars.Replace(q.Expr))
				if err != nil {
					t.Errorf("panel %q: %q does not parse: %v", p.Title, q.Expr, err)
					continue
				}
				for _, vs := range selectors(expr) {
					if !slices.Contains(knownSeries, vs) {
						t.Errorf("panel %q reads %q, which nothing exports", p.Title, vs)
					}
				}
			}
		}
	}
	if n < 15 {
		t.Errorf("only %d queries; the dashboard lost panels", n)
	}
	for _, v := range []string{`wva_desired_replicas`, `wva_desired_replicas{namespace=~"$namespace"}`} {
		if _, err := promql.ParseExpr(grafanaVars.Replace(v)); err != nil {
			t.Errorf("variable query selector %q: %v", v, err)
		}
	}
}

func selectors(e parser.Expr) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for _, m := range vs.LabelMatchers {
				if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
					out = append(out, m.Value)
				}
			}
		}
		return nil
	})
	return out
}

// The JSON is a Grafana dashboard: unique panel ids, every panel reads the
// datasource variable, rows before their panels, and the panels named in
// the issue are there.
func TestDashboardJSON(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(), outputs[0]))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			ID         int    `json:"id"`
			Type       string `json:"type"`
			Title      string `json:"title"`
			Datasource *struct {
				UID string `json:"uid"`
			} `json:"datasource"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name string `json:"name"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != uid {
		t.Errorf("uid %q", d.UID)
	}
	seen := map[int]bool{}
	var titles []string
	for _, p := range d.Panels {
		if p.ID <= 0 || seen[p.ID] {
			t.Errorf("panel %q: id %d is not unique and positive", p.Title, p.ID)
		}
		seen[p.ID] = true
		titles = append(titles, p.Title)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not read the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no target", p.Title)
		}
	}
	for _, want := range []string{"Load vs capacity per model", "Desired vs current replicas per variant", "Cost per hour per model",
		"Group reconciles by trigger", "VA evaluations", "Optimization duration", "Status writes", "Config validity",
		"Load-source queries by result", "Load refresh latency", "Workqueue depth"} {
		if !slices.Contains(titles, want) {
			t.Errorf("no panel %q", want)
		}
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !slices.Equal(vars, []string{"datasource", "namespace", "model"}) {
		t.Errorf("variables %v", vars)
	}
}

// Every panel the docs' picture shows is a panel of the dashboard, and the
// picture is drawn from data in the e2e test's format.
func TestDrawPNG(t *testing.T) {
	var titles []string
	for _, r := range rows {
		for _, p := range r.Panels {
			titles = append(titles, p.Title)
		}
	}
	var data []series
	for _, p := range pictured {
		if !slices.Contains(titles, p.panel) {
			t.Errorf("the picture shows %q, which is not a panel", p.panel)
		}
		data = append(data, series{Panel: p.panel, Legend: "{{variant_name}} desired", Labels: map[string]string{"variant_name": "v"},
			Points: [][2]float64{{100, 1}, {101, 2}, {102, 3}}})
	}
	dir := t.TempDir()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	in, out := filepath.Join(dir, "data.json"), filepath.Join(dir, "dashboard.png")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := drawPNG(in, out); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 700 {
		t.Errorf("picture of %v", b)
	}
	// A panel without data is an error, not an empty tile.
	if err := os.WriteFile(in, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := drawPNG(in, out); err == nil {
		t.Error("drawPNG drew a picture without data")
	}
}
