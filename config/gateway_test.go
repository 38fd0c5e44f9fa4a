package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseGatewayConfig(t *testing.T) {
	cases := map[string]struct {
		data, env   map[string]string
		want        GatewayConfig
		wantErr     []string
		wantEndList []GatewayEndpoint
	}{
		"defaults": {
			want: GatewayConfig{}, // the accessors fall back to DefaultGatewayConfig
		},
		"every key": {
			data: map[string]string{
				KeyGatewayRequestMetrics:     " my_requests_total , other_total ",
				KeyGatewayQueueMetrics:       "my_queue",
				KeyGatewayModelLabel:         "model_name",
				KeyGatewayEPPEndpoints:       "team-a=https://epp.team-a.svc:9090/metrics, team-b=http://127.0.0.1:9400/gateway/metrics",
				KeyGatewayEPPServiceSelector: "app.kubernetes.io/component=epp",
				KeyGatewayEPPMetricsPort:     "9091",
				KeyGatewayEPPScheme:          "http",
				KeyGatewayPollInterval:       "500ms",
				KeyGatewayCACertPath:         "/ca.pem",
				KeyGatewayServerName:         "epp",
			},
			want: GatewayConfig{
				RequestMetrics:  "my_requests_total,other_total",
				QueueMetrics:    "my_queue",
				ModelLabel:      "model_name",
				Endpoints:       "team-a=https://epp.team-a.svc:9090/metrics,team-b=http://127.0.0.1:9400/gateway/metrics",
				ServiceSelector: "app.kubernetes.io/component=epp",
				MetricsPort:     9091,
				Scheme:          "http",
				PollInterval:    500 * time.Millisecond,
				Conn:            PrometheusConfig{CACertPath: "/ca.pem", ServerName: "epp"},
			},
			wantEndList: []GatewayEndpoint{
				{Namespace: "team-a", URL: "https://epp.team-a.svc:9090/metrics"},
				{Namespace: "team-b", URL: "http://127.0.0.1:9400/gateway/metrics"},
			},
		},
		"bad metric name":  {data: map[string]string{KeyGatewayRequestMetrics: "ok_total,bad-name"}, wantErr: []string{KeyGatewayRequestMetrics, `"bad-name" is not a Prometheus metric name`}},
		"no metric":        {data: map[string]string{KeyGatewayQueueMetrics: " , "}, wantErr: []string{KeyGatewayQueueMetrics, "names no metric"}},
		"bad label":        {data: map[string]string{KeyGatewayModelLabel: "model-name"}, wantErr: []string{KeyGatewayModelLabel, "not a Prometheus label name"}},
		"endpoint no ns":   {data: map[string]string{KeyGatewayEPPEndpoints: "https://epp:9090/metrics"}, wantErr: []string{KeyGatewayEPPEndpoints, "not namespace=URL"}},
		"endpoint bad URL": {data: map[string]string{KeyGatewayEPPEndpoints: "team-a=ftp://epp/metrics"}, wantErr: []string{KeyGatewayEPPEndpoints, "namespace team-a", "http://"}},
		"endpoint with a query": {data: map[string]string{KeyGatewayEPPEndpoints: "team-a=https://epp/metrics?access_token=x"},
			wantErr: []string{KeyGatewayEPPEndpoints, "must not contain a query", "tokens belong in GATEWAY_TOKEN_PATH"}},
		"bad selector":      {data: map[string]string{KeyGatewayEPPServiceSelector: "a in (b"}, wantErr: []string{KeyGatewayEPPServiceSelector, "not a label selector"}},
		"bad port":          {data: map[string]string{KeyGatewayEPPMetricsPort: "70000"}, wantErr: []string{KeyGatewayEPPMetricsPort, "not a port number"}},
		"bad scheme":        {data: map[string]string{KeyGatewayEPPScheme: "grpc"}, wantErr: []string{KeyGatewayEPPScheme, "http or https"}},
		"poll too short":    {data: map[string]string{KeyGatewayPollInterval: "10ms"}, wantErr: []string{KeyGatewayPollInterval, "out of range"}},
		"poll not duration": {data: map[string]string{KeyGatewayPollInterval: "1"}, wantErr: []string{KeyGatewayPollInterval, "not a Go duration"}},
		// Issue 12: credentials only from the manager's environment.
		"token path in the ConfigMap": {data: map[string]string{KeyGatewayTokenPath: "/t"}, wantErr: []string{KeyGatewayTokenPath, "read only from the manager's environment"}},
		"allowing insecure credentials in the ConfigMap": {data: map[string]string{KeyGatewayAllowInsecureCredentials: "true"},
			wantErr: []string{KeyGatewayAllowInsecureCredentials, "read only from the manager's environment"}},
		// The token is usually the operator's ServiceAccount token: it goes
		// only where the environment says, over verified https.
		"token to endpoints from the environment": {
			env: map[string]string{KeyGatewayTokenPath: "/t", KeyGatewayEPPEndpoints: "team-a=https://epp.team-a.svc:9090/metrics",
				KeyGatewayEPPServiceSelector: "app=epp"},
			want:        GatewayConfig{Endpoints: "team-a=https://epp.team-a.svc:9090/metrics", ServiceSelector: "app=epp", Conn: PrometheusConfig{TokenPath: "/t"}},
			wantEndList: []GatewayEndpoint{{Namespace: "team-a", URL: "https://epp.team-a.svc:9090/metrics"}},
		},
		"token to endpoints from the ConfigMap": {
			data:    map[string]string{KeyGatewayEPPEndpoints: "team-a=https://attacker.example/metrics"},
			env:     map[string]string{KeyGatewayTokenPath: "/t"},
			wantErr: []string{`key "GATEWAY_EPP_ENDPOINTS"`, "must never redirect the operator's token"},
		},
		"token to a selector from the ConfigMap": {
			data:    map[string]string{KeyGatewayEPPServiceSelector: "app=mine"},
			env:     map[string]string{KeyGatewayBearerToken: "s3cret"},
			wantErr: []string{`key "GATEWAY_EPP_SERVICE_SELECTOR"`, "must never redirect the operator's token"},
		},
		"token over plain HTTP": {
			env:     map[string]string{KeyGatewayTokenPath: "/t", KeyGatewayEPPEndpoints: "team-a=http://epp.team-a.svc:9090/metrics"},
			wantErr: []string{"environment variable GATEWAY_EPP_ENDPOINTS", "refusing to send the gateway token over plain HTTP to http://epp.team-a.svc:9090/metrics (namespace team-a)", KeyGatewayAllowInsecureCredentials},
		},
		"token to discovered endpoints over plain HTTP": {
			data:    map[string]string{KeyGatewayEPPScheme: "http"},
			env:     map[string]string{KeyGatewayTokenPath: "/t", KeyGatewayEPPServiceSelector: "app=epp"},
			wantErr: []string{`key "GATEWAY_EPP_SCHEME"`, "discovered endpoint pickers", KeyGatewayAllowInsecureCredentials},
		},
		"token without verification": {
			env:     map[string]string{KeyGatewayBearerToken: "s3cret", KeyGatewayTLSInsecureSkipVerify: "true"},
			wantErr: []string{"environment variable GATEWAY_TLS_INSECURE_SKIP_VERIFY", "without verifying the server certificate"},
		},
		"token and token file": {
			env:     map[string]string{KeyGatewayBearerToken: "s3cret", KeyGatewayTokenPath: "/t"},
			wantErr: []string{"environment variable GATEWAY_TOKEN_PATH", "not both"},
		},
		"token over plain HTTP, explicitly allowed": {
			env: map[string]string{KeyGatewayTokenPath: "/t", KeyGatewayEPPEndpoints: "team-a=http://127.0.0.1:9400/metrics",
				KeyGatewayTLSInsecureSkipVerify: "true", KeyGatewayAllowInsecureCredentials: "true"},
			want: GatewayConfig{Endpoints: "team-a=http://127.0.0.1:9400/metrics",
				Conn: PrometheusConfig{TokenPath: "/t", InsecureSkipVerify: true, AllowInsecureCredentials: true}},
			wantEndList: []GatewayEndpoint{{Namespace: "team-a", URL: "http://127.0.0.1:9400/metrics"}},
		},
		"plain HTTP without a token": {
			data:        map[string]string{KeyGatewayEPPEndpoints: "team-a=http://127.0.0.1:9400/metrics"},
			want:        GatewayConfig{Endpoints: "team-a=http://127.0.0.1:9400/metrics"},
			wantEndList: []GatewayEndpoint{{Namespace: "team-a", URL: "http://127.0.0.1:9400/metrics"}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := ParseOperatorConfig(tc.data, tc.env)
			checkErr(t, err, tc.wantErr)
			if len(tc.wantErr) > 0 {
				return
			}
			if diff := cmp.Diff(tc.want, got.Gateway); diff != "" {
				t.Errorf("Gateway (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEndList, got.Gateway.EndpointList()); diff != "" {
				t.Errorf("EndpointList (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGatewayConfigAccessors(t *testing.T) {
	var zero GatewayConfig // built in code: the accessors fall back to the defaults
	got := struct {
		Requests, Queues []string
		Label            string
		Poll, Timeout    time.Duration
		FastPath         bool
		URL              string
	}{zero.RequestMetricNames(), zero.QueueMetricNames(), zero.Label(), zero.Poll(), zero.RequestTimeout(), zero.FastPath(),
		zero.ServiceURL("team-a", "epp", 9090)}
	want := got
	want.Requests = []string{"llm_d_epp_request_total", "inference_objective_request_total"}
	want.Queues = []string{"llm_d_epp_flow_control_queue_size", "inference_extension_flow_control_queue_size"}
	want.Label, want.Poll, want.Timeout, want.FastPath = "target_model_name", time.Second, 2*time.Second, false
	want.URL = "https://epp.team-a.svc:9090/metrics"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("accessors (-want +got):\n%s", diff)
	}
}

func TestDiffGatewayRebuildsTheSource(t *testing.T) {
	prev := &Config{Operator: DefaultOperatorConfig()}
	next := &Config{Operator: DefaultOperatorConfig()}
	next.Operator.Gateway.PollInterval = 2 * time.Second
	if c := Diff(prev, next); !c.Prometheus || c.AllGroups {
		t.Errorf("Diff = %+v, want Prometheus only", c)
	}
}
