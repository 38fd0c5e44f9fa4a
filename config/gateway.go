package config

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"
)

// Keys of variantautoscaling-config for the inference gateway's endpoint
// picker (EPP): the metric names and model label read from Prometheus, and
// the EPP metrics endpoints the fast path from zero polls directly.
const (
	KeyGatewayRequestMetrics        = "GATEWAY_REQUEST_METRICS"
	KeyGatewayQueueMetrics          = "GATEWAY_QUEUE_METRICS"
	KeyGatewayModelLabel            = "GATEWAY_MODEL_LABEL"
	KeyGatewayEPPEndpoints          = "GATEWAY_EPP_ENDPOINTS"
	KeyGatewayEPPServiceSelector    = "GATEWAY_EPP_SERVICE_SELECTOR"
	KeyGatewayEPPMetricsPort        = "GATEWAY_EPP_METRICS_PORT"
	KeyGatewayEPPScheme             = "GATEWAY_EPP_SCHEME"
	KeyGatewayPollInterval          = "GATEWAY_POLL_INTERVAL"
	KeyGatewayCACertPath            = "GATEWAY_CA_CERT_PATH"
	KeyGatewayClientCertPath        = "GATEWAY_CLIENT_CERT_PATH"
	KeyGatewayClientKeyPath         = "GATEWAY_CLIENT_KEY_PATH"
	KeyGatewayServerName            = "GATEWAY_SERVER_NAME"
	KeyGatewayTLSInsecureSkipVerify = "GATEWAY_TLS_INSECURE_SKIP_VERIFY"
	KeyGatewayBearerToken           = "GATEWAY_BEARER_TOKEN"
	KeyGatewayTokenPath             = "GATEWAY_TOKEN_PATH"
	defaultGatewayRequestMetrics    = "llm_d_epp_request_total,inference_objective_request_total"
	defaultGatewayQueueMetrics      = "llm_d_epp_flow_control_queue_size,inference_extension_flow_control_queue_size"
	defaultGatewayModelLabel        = "target_model_name"
	defaultGatewayEPPMetricsPort    = 9090
	defaultGatewayEPPScheme         = "https"
	defaultGatewayPollInterval      = time.Second
	// defaultGatewayRequestTimeoutFrac: a poll times out after interval × this, at least 1s.
	defaultGatewayRequestTimeoutFrac = 2
)

// rangeGatewayPoll bounds GATEWAY_POLL_INTERVAL.
var rangeGatewayPoll = durationRange{100 * time.Millisecond, time.Minute}

// GatewayConfig holds the gateway settings. Every field is comparable, so a
// change is detected with ==. An empty field means its default: read the
// settings through the accessors (RequestMetricNames, Label, Poll, ...).
type GatewayConfig struct {
	// RequestMetrics (GATEWAY_REQUEST_METRICS) are the EPP's request counters,
	// comma separated, in preference order: per model the first name with
	// data is read (llm-d renamed the family and still exports the old names).
	RequestMetrics string
	// QueueMetrics (GATEWAY_QUEUE_METRICS) are the EPP's flow-control queue
	// size gauges, same rule.
	QueueMetrics string
	// ModelLabel (GATEWAY_MODEL_LABEL) is the label of those series that
	// carries the model the pods serve (a VA's spec.modelID).
	ModelLabel string
	// Endpoints (GATEWAY_EPP_ENDPOINTS) are "namespace=URL" pairs, comma
	// separated: EPP /metrics URLs the fast path polls, each with the
	// namespace of the models behind it.
	Endpoints string
	// ServiceSelector (GATEWAY_EPP_SERVICE_SELECTOR) finds EPP Services to
	// poll (label selector; "" = no discovery).
	ServiceSelector string
	// MetricsPort (GATEWAY_EPP_METRICS_PORT) is the port of a discovered
	// Service when it has no port named "metrics".
	MetricsPort int
	// Scheme (GATEWAY_EPP_SCHEME) of the URLs of discovered Services.
	Scheme string
	// PollInterval (GATEWAY_POLL_INTERVAL) is the fast path's period.
	PollInterval time.Duration
	// Conn holds the TLS and authentication settings of the EPP endpoints
	// (GATEWAY_CA_CERT_PATH, ..., GATEWAY_TOKEN_PATH), with the meaning of
	// the PROMETHEUS_* keys of the same suffix. BaseURL is unused.
	Conn PrometheusConfig
}

// GatewayEndpoint is one EPP metrics endpoint and the namespace of its models.
type GatewayEndpoint struct {
	Namespace string
	URL       string
}

// DefaultGatewayConfig returns the gateway settings in force when nothing sets them.
func DefaultGatewayConfig() GatewayConfig {
	return GatewayConfig{
		RequestMetrics: defaultGatewayRequestMetrics,
		QueueMetrics:   defaultGatewayQueueMetrics,
		ModelLabel:     defaultGatewayModelLabel,
		MetricsPort:    defaultGatewayEPPMetricsPort,
		Scheme:         defaultGatewayEPPScheme,
		PollInterval:   defaultGatewayPollInterval,
	}
}

// withDefaults fills the fields a zero GatewayConfig leaves empty (a config
// built in code rather than parsed).
func (g GatewayConfig) withDefaults() GatewayConfig {
	d := DefaultGatewayConfig()
	if g.RequestMetrics == "" {
		g.RequestMetrics = d.RequestMetrics
	}
	if g.QueueMetrics == "" {
		g.QueueMetrics = d.QueueMetrics
	}
	if g.ModelLabel == "" {
		g.ModelLabel = d.ModelLabel
	}
	if g.MetricsPort == 0 {
		g.MetricsPort = d.MetricsPort
	}
	if g.Scheme == "" {
		g.Scheme = d.Scheme
	}
	if g.PollInterval <= 0 {
		g.PollInterval = d.PollInterval
	}
	return g
}

// RequestMetricNames returns the request counters in preference order.
func (g GatewayConfig) RequestMetricNames() []string {
	return splitList(g.withDefaults().RequestMetrics)
}

// QueueMetricNames returns the queue gauges in preference order.
func (g GatewayConfig) QueueMetricNames() []string { return splitList(g.withDefaults().QueueMetrics) }

// Label returns the model label.
func (g GatewayConfig) Label() string { return g.withDefaults().ModelLabel }

// Poll returns the fast path's period.
func (g GatewayConfig) Poll() time.Duration { return g.withDefaults().PollInterval }

// RequestTimeout bounds one poll of one endpoint: twice the period, at least 1s.
func (g GatewayConfig) RequestTimeout() time.Duration {
	return max(time.Second, defaultGatewayRequestTimeoutFrac*g.Poll())
}

// FastPath reports whether any EPP endpoint is configured or discovered.
func (g GatewayConfig) FastPath() bool { return g.Endpoints != "" || g.ServiceSelector != "" }

// EndpointList returns the configured endpoints (already validated).
func (g GatewayConfig) EndpointList() []GatewayEndpoint {
	var out []GatewayEndpoint
	for _, pair := range splitList(g.Endpoints) {
		ns, u, _ := strings.Cut(pair, "=")
		out = append(out, GatewayEndpoint{Namespace: strings.TrimSpace(ns), URL: strings.TrimSpace(u)})
	}
	return out
}

// ServiceURL is the metrics URL of a discovered EPP Service.
func (g GatewayConfig) ServiceURL(namespace, name string, port int) string {
	return fmt.Sprintf("%s://%s.%s.svc:%d/metrics", g.withDefaults().Scheme, name, namespace, port)
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	// namespaceRE is a DNS-1123 label, the form of a namespace name.
	namespaceRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

func setMetricList(field func(*OperatorConfig) *string) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		names := splitList(v)
		if len(names) == 0 {
			return fmt.Errorf("%q names no metric", v)
		}
		for _, n := range names {
			if !metricNameRE.MatchString(n) {
				return fmt.Errorf("%q is not a Prometheus metric name", n)
			}
		}
		*field(o) = strings.Join(names, ",")
		return nil
	}
}

var gatewayKeys = []operatorKey{
	{KeyGatewayRequestMetrics, setMetricList(func(o *OperatorConfig) *string { return &o.Gateway.RequestMetrics })},
	{KeyGatewayQueueMetrics, setMetricList(func(o *OperatorConfig) *string { return &o.Gateway.QueueMetrics })},
	{KeyGatewayModelLabel, func(o *OperatorConfig, v string) error {
		if !labelNameRE.MatchString(v) {
			return fmt.Errorf("%q is not a Prometheus label name", v)
		}
		o.Gateway.ModelLabel = v
		return nil
	}},
	{KeyGatewayEPPEndpoints, func(o *OperatorConfig, v string) error {
		var norm []string
		for _, pair := range splitList(v) {
			ns, u, ok := strings.Cut(pair, "=")
			ns, u = strings.TrimSpace(ns), strings.TrimSpace(u)
			if !ok || !namespaceRE.MatchString(ns) {
				return fmt.Errorf("%q is not namespace=URL (the namespace of the models behind the endpoint picker, then its /metrics URL)", pair)
			}
			if err := checkServerURL(u, gatewayToken); err != nil {
				return fmt.Errorf("the URL for namespace %s: %w", ns, err)
			}
			norm = append(norm, ns+"="+u)
		}
		o.Gateway.Endpoints = strings.Join(norm, ",")
		return nil
	}},
	{KeyGatewayEPPServiceSelector, func(o *OperatorConfig, v string) error {
		if _, err := labels.Parse(v); err != nil {
			return fmt.Errorf("%q is not a label selector: %w", v, err)
		}
		o.Gateway.ServiceSelector = v
		return nil
	}},
	{KeyGatewayEPPMetricsPort, func(o *OperatorConfig, v string) error {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("%q is not a port number (1-65535)", v)
		}
		o.Gateway.MetricsPort = p
		return nil
	}},
	{KeyGatewayEPPScheme, func(o *OperatorConfig, v string) error {
		if v != "http" && v != "https" {
			return fmt.Errorf("%q must be http or https", v)
		}
		o.Gateway.Scheme = v
		return nil
	}},
	{KeyGatewayPollInterval, func(o *OperatorConfig, v string) error {
		d, err := parseBoundedDuration(v, rangeGatewayPoll)
		if err != nil {
			return err
		}
		o.Gateway.PollInterval = d
		return nil
	}},
	{KeyGatewayCACertPath, setString(func(o *OperatorConfig) *string { return &o.Gateway.Conn.CACertPath })},
	{KeyGatewayClientCertPath, setString(func(o *OperatorConfig) *string { return &o.Gateway.Conn.ClientCertPath })},
	{KeyGatewayClientKeyPath, setString(func(o *OperatorConfig) *string { return &o.Gateway.Conn.ClientKeyPath })},
	{KeyGatewayServerName, setString(func(o *OperatorConfig) *string { return &o.Gateway.Conn.ServerName })},
	{KeyGatewayTLSInsecureSkipVerify, setBool(func(o *OperatorConfig) *bool { return &o.Gateway.Conn.InsecureSkipVerify })},
	{KeyGatewayBearerToken, func(o *OperatorConfig, v string) error {
		o.Gateway.Conn.BearerToken = Secret(v)
		return nil
	}},
	{KeyGatewayTokenPath, setString(func(o *OperatorConfig) *string { return &o.Gateway.Conn.TokenPath })},
	{KeyGatewayAllowInsecureCredentials, setBool(func(o *OperatorConfig) *bool { return &o.Gateway.Conn.AllowInsecureCredentials })},
}

// The gateway keys are part of the operator ConfigMap.
func init() { operatorKeys = append(operatorKeys, gatewayKeys...) }
