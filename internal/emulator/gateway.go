package emulator

import (
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The endpoint picker's series the gateway exposes, under llm-d's new names
// and the older Gateway API Inference Extension names it still exports.
const (
	MetricGatewayRequests    = "llm_d_epp_request_total"
	MetricGatewayRequestsOld = "inference_objective_request_total"
	MetricGatewayQueue       = "llm_d_epp_flow_control_queue_size"
	MetricGatewayQueueOld    = "inference_extension_flow_control_queue_size"
)

// writeGateway writes the gateway's series in the Prometheus text format:
// all namespaces with a namespace label (namespace ""), or one namespace
// without it, as an endpoint picker serving that namespace does.
func (e *Emulator) writeGateway(w http.ResponseWriter, namespace string) {
	e.mu.Lock()
	now := e.now()
	e.advanceLocked(now)
	type row struct {
		ns, model        string
		arrived, waiting float64
	}
	var rows []row
	for _, k := range e.order {
		if (namespace != "" && k.namespace != namespace) || e.noGateway[k.namespace] {
			continue
		}
		st := e.models[k]
		rows = append(rows, row{k.namespace, k.model, st.arrived, st.queued})
	}
	e.mu.Unlock()
	if namespace != "" && len(rows) == 0 {
		http.Error(w, fmt.Sprintf("no model in namespace %q", namespace), http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	labels := func(r row, extra string) string {
		var b strings.Builder
		if namespace == "" {
			fmt.Fprintf(&b, "namespace=%s,", quote(r.ns))
		}
		fmt.Fprintf(&b, "%smodel_name=%s,target_model_name=%s", extra, quote(r.model), quote(r.model))
		return b.String()
	}
	write := func(out io.Writer, name, typ, help string, value func(row) float64, extra func(row) string) {
		fmt.Fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
		for _, r := range rows {
			fmt.Fprintf(out, "%s{%s} %v\n", name, labels(r, extra(r)), value(r))
		}
	}
	arrived := func(r row) float64 { return r.arrived }
	waiting := func(r row) float64 { return r.waiting }
	priority := func(row) string { return `priority="0",` }
	flow := func(r row) string {
		return fmt.Sprintf(`fairness_id="default",priority="0",inference_pool=%s,`, quote(r.ns+"-pool"))
	}
	write(w, MetricGatewayRequests, "counter", "Counter of inference objective requests broken out for each model and target model.", arrived, priority)
	write(w, MetricGatewayRequestsOld, "counter", "Counter of inference objective requests (deprecated name).", arrived, priority)
	write(w, MetricGatewayQueue, "gauge", "Current number of requests actively held in the Flow Control queue.", waiting, flow)
	write(w, MetricGatewayQueueOld, "gauge", "Current number of requests in the Flow Control queue (deprecated name).", waiting, flow)
}

// quote renders a label value in the text format.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(v) + `"`
}
