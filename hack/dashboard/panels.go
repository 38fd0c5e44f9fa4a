package main

// The dashboard's content: every panel and its PromQL, in one table, so the
// tests can check each query (parsed here, run against a real Prometheus in
// the e2e test) and the docs can list them.

// Grafana variables the queries use. sel is the selector of the per-variant
// series for the chosen namespaces and models.
const (
	sel     = `namespace=~"$namespace", model_name=~"$model"`
	rateWin = `[$__rate_interval]`
)

// query is one PromQL target of a panel.
type query struct {
	Expr, Legend string
}

// panelKind is the visualization.
type panelKind int

const (
	timeSeries panelKind = iota
	statPanel
)

// panel is one panel of the dashboard.
type panel struct {
	Title, Description, Unit string
	Kind                     panelKind
	Stacked                  bool
	Width                    uint32
	Queries                  []query
}

// row is a titled group of panels.
type row struct {
	Title  string
	Panels []panel
}

// completions is each model's completion rate.
const completions = `sum by (namespace, model_name) (rate(vllm:request_success_total{` + sel + `}` + rateWin + `))`

var rows = []row{
	{Title: "Models", Panels: []panel{
		{
			Title: "Total cost per hour", Unit: "none", Kind: statPanel, Width: 6,
			Description: "Cost per hour of the desired replicas of the selected models (unit: accelerator-unit-costs).",
			Queries:     []query{{Expr: `sum(wva_desired_cost_per_hour{` + sel + `})`, Legend: "cost/h"}},
		},
		{
			Title: "Desired replicas", Unit: "none", Kind: statPanel, Width: 6,
			Description: "Replicas the operator wants, over every selected variant.",
			Queries:     []query{{Expr: `sum(wva_desired_replicas{` + sel + `})`, Legend: "desired"}},
		},
		{
			Title: "Replicas by accelerator", Unit: "none", Kind: statPanel, Width: 12,
			Description: "Desired replicas per accelerator type.",
			Queries:     []query{{Expr: `sum by (accelerator_type) (wva_desired_replicas{` + sel + `})`, Legend: "{{accelerator_type}}"}},
		},
		{
			Title: "Load vs capacity per model", Unit: "reqps", Width: 8,
			Description: "Arrival rate of each model as the operator reads it (vLLM's completions plus the growth of its queues) against what its desired replicas carry within the SLO.",
			Queries: []query{
				{Expr: `clamp_min(` + completions + ` + deriv((sum by (namespace, model_name) (vllm:num_requests_waiting{` + sel + `}))[$__rate_interval:$__interval]), 0) or ` + completions, Legend: "{{model_name}} load"},
				{Expr: `sum by (namespace, model_name) (wva_replica_capacity_requests_per_second{` + sel + `} * wva_desired_replicas{` + sel + `})`, Legend: "{{model_name}} capacity"},
			},
		},
		{
			Title: "Requests waiting per model", Unit: "none", Width: 8,
			Description: "Requests queued at each model's servers (vLLM's num_requests_waiting). Plans serve them within BACKLOG_DRAIN_TIME on top of the arrival rate, so capacity stands above the load while a queue drains.",
			Queries:     []query{{Expr: `sum by (namespace, model_name) (vllm:num_requests_waiting{` + sel + `})`, Legend: "{{model_name}}"}},
		},
		{
			Title: "Cost per hour per model", Unit: "none", Width: 8, Stacked: true,
			Description: "Cost per hour of each model's desired replicas.",
			Queries:     []query{{Expr: `sum by (namespace, model_name) (wva_desired_cost_per_hour{` + sel + `})`, Legend: "{{model_name}}"}},
		},
		{
			Title: "Desired vs current replicas per variant", Unit: "none", Width: 24,
			Description: "The operator's decision (desired) and what the workload runs (current), per variant.",
			Queries: []query{
				{Expr: `sum by (namespace, variant_name) (wva_desired_replicas{` + sel + `})`, Legend: "{{variant_name}} desired"},
				{Expr: `sum by (namespace, variant_name) (wva_current_replicas{` + sel + `})`, Legend: "{{variant_name}} current"},
			},
		},
	}},
	{Title: "Operator health", Panels: []panel{
		{
			Title: "Group reconciles by trigger", Unit: "ops", Width: 8, Stacked: true,
			Description: "Model-group reconciles per second, by what triggered them (va, target, config, load, requeue, global-pass).",
			Queries:     []query{{Expr: `sum by (trigger) (rate(wva_group_reconciles_total` + rateWin + `))`, Legend: "{{trigger}}"}},
		},
		{
			Title: "VA evaluations", Unit: "ops", Width: 8,
			Description: "VariantAutoscalings evaluated per second by group reconciles: the work events cause.",
			Queries:     []query{{Expr: `sum(rate(wva_variant_evaluations_total` + rateWin + `))`, Legend: "evaluations/s"}},
		},
		{
			Title: "Optimization duration", Unit: "s", Width: 8,
			Description: "Time to plan one model group (snapshot, plan, writes).",
			Queries: []query{
				{Expr: `histogram_quantile(0.5, sum by (le) (rate(wva_optimization_duration_seconds_bucket` + rateWin + `)))`, Legend: "p50"},
				{Expr: `histogram_quantile(0.99, sum by (le) (rate(wva_optimization_duration_seconds_bucket` + rateWin + `)))`, Legend: "p99"},
			},
		},
		{
			Title: "Status writes", Unit: "wps", Width: 8,
			Description: "VariantAutoscaling status writes per second (a status is written only when it changed).",
			Queries:     []query{{Expr: `sum(rate(wva_status_writes_total` + rateWin + `))`, Legend: "writes/s"}},
		},
		{
			Title: "Config validity", Unit: "none", Kind: statPanel, Width: 8,
			Description: "1: the ConfigMap's latest version is in force; 0: it is invalid and the last good one is kept.",
			Queries:     []query{{Expr: `min by (configmap) (wva_config_valid)`, Legend: "{{configmap}}"}},
		},
		{
			Title: "Workqueue depth", Unit: "none", Width: 8,
			Description: "Items waiting in each controller's workqueue (controller-runtime).",
			Queries:     []query{{Expr: `sum by (name) (workqueue_depth)`, Legend: "{{name}}"}},
		},
		{
			Title: "Load-source queries by result", Unit: "ops", Width: 8, Stacked: true,
			Description: "PromQL queries of the load refresher per second, by result; any error makes the groups hold their replicas.",
			Queries:     []query{{Expr: `sum by (result) (rate(wva_load_queries_total` + rateWin + `))`, Legend: "{{result}}"}},
		},
		{
			Title: "Load refresh latency", Unit: "s", Width: 8,
			Description: "Duration of one load refresh from Prometheus (all grouped queries).",
			Queries: []query{
				{Expr: `histogram_quantile(0.5, sum by (le) (rate(wva_load_refresh_duration_seconds_bucket` + rateWin + `)))`, Legend: "p50"},
				{Expr: `histogram_quantile(0.99, sum by (le) (rate(wva_load_refresh_duration_seconds_bucket` + rateWin + `)))`, Legend: "p99"},
			},
		},
		{
			Title: "Model groups and groups changed by load", Unit: "none", Width: 8,
			Description: "Model groups seen by the last global pass, and groups the load refresher enqueued per minute.",
			Queries: []query{
				{Expr: `max(wva_model_groups)`, Legend: "groups"},
				{Expr: `sum(increase(wva_load_groups_changed_total[1m]))`, Legend: "changed by load per minute"},
			},
		},
	}},
}
