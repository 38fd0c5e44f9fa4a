package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// checkErr fails t unless err is nil when wantErr is empty, or else err's text
// contains every string of wantErr.
func checkErr(t *testing.T, err error, wantErr []string) {
	t.Helper()
	if len(wantErr) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got no error, want one containing %q", wantErr)
	}
	for _, w := range wantErr {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err.Error(), w)
		}
	}
}

// operatorWith returns the default operator config changed by f.
func operatorWith(f func(o *OperatorConfig)) OperatorConfig {
	o := DefaultOperatorConfig()
	if f != nil {
		f(&o)
	}
	return o
}

func TestParseOperatorConfig(t *testing.T) {
	tests := map[string]struct {
		data    map[string]string
		env     map[string]string
		want    OperatorConfig
		wantErr []string
	}{
		"nil data gives defaults": {
			want: DefaultOperatorConfig(),
		},
		"blank values give defaults": {
			data: map[string]string{KeyGlobalOptInterval: "", KeyPrometheusBaseURL: "  \n"},
			want: DefaultOperatorConfig(),
		},
		// The predecessor's example put the token path and "skip
		// verification" in the ConfigMap: both now come from the environment
		// only, and the token is not sent without verification.
		"predecessor example, credentials moved to the environment": {
			data: map[string]string{
				"GLOBAL_OPT_INTERVAL":     "60s",
				"PROMETHEUS_CA_CERT_PATH": "/etc/ssl/certs/prometheus-ca.crt",
				"PROMETHEUS_SERVER_NAME":  "prometheus-k8s.monitoring.svc",
			},
			env: map[string]string{
				"PROMETHEUS_BASE_URL":   "https://prometheus-k8s.monitoring.svc:9091",
				"PROMETHEUS_TOKEN_PATH": "/var/run/secrets/kubernetes.io/serviceaccount/token",
			},
			want: operatorWith(func(o *OperatorConfig) {
				o.Prometheus.BaseURL = "https://prometheus-k8s.monitoring.svc:9091"
				o.Prometheus.CACertPath = "/etc/ssl/certs/prometheus-ca.crt"
				o.Prometheus.ServerName = "prometheus-k8s.monitoring.svc"
				o.Prometheus.TokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"
			}),
		},
		"predecessor example as it was": {
			data: map[string]string{
				"PROMETHEUS_BASE_URL":                 "https://prometheus-k8s.monitoring.svc:9091",
				"PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": "true",
				"PROMETHEUS_TOKEN_PATH":               "/var/run/secrets/kubernetes.io/serviceaccount/token",
			},
			wantErr: []string{`key "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY": credentials and TLS-verification settings are read only from the manager's environment`,
				`key "PROMETHEUS_TOKEN_PATH": credentials`},
		},
		"token over plain HTTP": {
			env:     map[string]string{KeyPrometheusBaseURL: "http://prom:9090", KeyPrometheusTokenPath: "/t"},
			wantErr: []string{"environment variable PROMETHEUS_BASE_URL", "refusing to send the Prometheus token over plain HTTP", KeyPrometheusAllowInsecureCredentials},
		},
		"token without verification": {
			env:     map[string]string{KeyPrometheusBaseURL: "https://prom:9090", KeyPrometheusBearerToken: "t", KeyPrometheusInsecureSkipVerify: "true"},
			wantErr: []string{"environment variable PROMETHEUS_TLS_INSECURE_SKIP_VERIFY", "without verifying the server certificate"},
		},
		"token over plain HTTP, explicitly allowed": {
			env: map[string]string{KeyPrometheusBaseURL: "http://prom:9090", KeyPrometheusTokenPath: "/t", KeyPrometheusAllowInsecureCredentials: "true"},
			want: operatorWith(func(o *OperatorConfig) {
				o.Prometheus.BaseURL, o.Prometheus.TokenPath, o.Prometheus.AllowInsecureCredentials = "http://prom:9090", "/t", true
			}),
		},
		"ConfigMap URL with a token from the environment": {
			data:    map[string]string{KeyPrometheusBaseURL: "https://attacker.example"},
			env:     map[string]string{KeyPrometheusTokenPath: "/t"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "must never redirect the operator's token"},
		},
		"a token in the URL is never echoed": {
			data:    map[string]string{KeyPrometheusBaseURL: "https://prom.example/api?access_token=s3cr3t-in-url"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "must not contain a query", "https://prom.example/api (credentials, query and fragment redacted)"},
		},
		"every key": {
			data: map[string]string{
				KeyGlobalOptInterval:           "30s",
				KeyGlobalPassInterval:          "15m",
				KeyPrometheusCACertPath:        "/ca.pem",
				KeyPrometheusClientCertPath:    "/cert.pem",
				KeyPrometheusClientKeyPath:     "/key.pem",
				KeyPrometheusServerName:        "prom.example",
				KeyPrometheusQueryTimeout:      "3s",
				KeyPrometheusStaleness:         "2m",
				KeyScaleToZeroDefaultEnabled:   "TRUE",
				KeyScaleToZeroDefaultRetention: "1h",
				KeyStabilizationWindow:         "0s",
				KeyCostSavingThreshold:         "0.25",
				KeyLoadChangeTolerance:         "1",
				KeyMaxReplicasPerVariant:       "250",
				KeyScaleUpMaxReplicas:          "2",
				KeyScaleUpMaxPercent:           "50",
				KeyScaleUpPeriod:               "30s",
				KeyMaxLoadJumpFactor:           "0",
				KeyLoadJumpConfirmation:        "0s",
				KeyBacklogDrainTime:            "45s",
				KeyCapacityMode:                "limited",
				KeyCapacityAcceleratorLabel:    "example.com/accelerator",
				KeyCapacityResource:            "example.com/gpu",
				KeyCapacityQuota:               "H100=8",
			},
			// Credentials, and the URL they go to, only from the environment.
			env: map[string]string{
				KeyPrometheusBaseURL:            "https://prometheus:9090/prom",
				KeyPrometheusBearerToken:        "s3cr3t\n",
				KeyPrometheusInsecureSkipVerify: "false",
			},
			want: OperatorConfig{
				OptInterval:  30 * time.Second,
				PassInterval: 15 * time.Minute,
				Prometheus: PrometheusConfig{
					BaseURL:        "https://prometheus:9090/prom",
					CACertPath:     "/ca.pem",
					ClientCertPath: "/cert.pem",
					ClientKeyPath:  "/key.pem",
					ServerName:     "prom.example",
					BearerToken:    "s3cr3t",
					QueryTimeout:   3 * time.Second,
					Staleness:      2 * time.Minute,
				},
				ScaleToZeroDefault:  ScaleToZeroPolicy{Enabled: true, Retention: time.Hour},
				StabilizationWindow: 0,
				CostSavingThreshold: 0.25,
				LoadChangeTolerance: 1,

				MaxReplicasPerVariant: 250,
				ScaleUp:               ScaleUpLimit{MaxReplicas: 2, MaxPercent: 50, Period: 30 * time.Second},
				LoadJump:              LoadJumpCheck{},
				BacklogDrainTime:      45 * time.Second,
				Capacity: CapacityConfig{Mode: CapacityLimited, AcceleratorLabel: "example.com/accelerator",
					Resource: "example.com/gpu", Quota: "H100=8"},
			},
		},
		"env overrides the ConfigMap": {
			data: map[string]string{KeyGlobalOptInterval: "30s", KeyCostSavingThreshold: "0.2"},
			env:  map[string]string{KeyGlobalOptInterval: "2m", "PATH": "/usr/bin", "HOME": "/root"},
			want: operatorWith(func(o *OperatorConfig) {
				o.OptInterval = 2 * time.Minute
				o.CostSavingThreshold = 0.2
			}),
		},
		"env alone": {
			env:  map[string]string{KeyPrometheusBaseURL: "http://prom:9090"},
			want: operatorWith(func(o *OperatorConfig) { o.Prometheus.BaseURL = "http://prom:9090" }),
		},
		"blank env does not override": {
			data: map[string]string{KeyGlobalOptInterval: "30s"},
			env:  map[string]string{KeyGlobalOptInterval: ""},
			want: operatorWith(func(o *OperatorConfig) { o.OptInterval = 30 * time.Second }),
		},
		"unknown env variables are ignored": {
			env:  map[string]string{"GLOBAL_OPT_INTERVALL": "x"},
			want: DefaultOperatorConfig(),
		},
		"env fixes a bad ConfigMap value": {
			data: map[string]string{KeyGlobalOptInterval: "soon"},
			env:  map[string]string{KeyGlobalOptInterval: "45s"},
			want: operatorWith(func(o *OperatorConfig) { o.OptInterval = 45 * time.Second }),
		},

		// Invalid.
		"unknown key": {
			data:    map[string]string{"GLOBAL_OPT_INTERVALL": "60s"},
			wantErr: []string{"variantautoscaling-config", `key "GLOBAL_OPT_INTERVALL"`, "unknown key", "did you mean GLOBAL_OPT_INTERVAL?", "known keys: BACKLOG_DRAIN_TIME, CAPACITY_ACCELERATOR_LABEL, CAPACITY_MODE"},
		},
		"unknown key in lower case": {
			data:    map[string]string{"global_opt_interval": "60s"},
			wantErr: []string{`key "global_opt_interval"`, "did you mean GLOBAL_OPT_INTERVAL?"},
		},
		"unknown key far from any": {
			data:    map[string]string{"SOMETHING_ELSE": "1"},
			wantErr: []string{`key "SOMETHING_ELSE": unknown key; known keys:`},
		},
		"bad duration": {
			data:    map[string]string{KeyGlobalOptInterval: "60"},
			wantErr: []string{`key "GLOBAL_OPT_INTERVAL"`, `"60" is not a Go duration`},
		},
		"zero interval": {
			data:    map[string]string{KeyGlobalPassInterval: "0s"},
			wantErr: []string{`key "GLOBAL_PASS_INTERVAL"`, "out of range: must be between 1s and 24h"},
		},
		"negative interval": {
			data:    map[string]string{KeyGlobalOptInterval: "-1m"},
			wantErr: []string{`key "GLOBAL_OPT_INTERVAL"`, "out of range: must be between 1s and 24h"},
		},
		"negative stabilization window": {
			data:    map[string]string{KeyStabilizationWindow: "-5m"},
			wantErr: []string{`key "STABILIZATION_WINDOW"`, "out of range: must be between 0s and 1h"},
		},
		"zero query timeout": {
			data:    map[string]string{KeyPrometheusQueryTimeout: "0"},
			wantErr: []string{`key "PROMETHEUS_QUERY_TIMEOUT"`, "out of range: must be between 100ms and 5m"},
		},
		"zero staleness": {
			data:    map[string]string{KeyPrometheusStaleness: "0ms"},
			wantErr: []string{`key "PROMETHEUS_STALENESS"`},
		},
		"zero default retention": {
			data:    map[string]string{KeyScaleToZeroDefaultRetention: "0s"},
			wantErr: []string{`key "SCALE_TO_ZERO_DEFAULT_RETENTION"`},
		},
		"bad bool": {
			data:    map[string]string{KeyScaleToZeroDefaultEnabled: "yes"},
			wantErr: []string{`key "SCALE_TO_ZERO_DEFAULT_ENABLED"`, "not a boolean"},
		},
		"bad insecure bool": {
			data:    map[string]string{KeyPrometheusInsecureSkipVerify: "maybe"},
			wantErr: []string{`key "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"`},
		},
		"threshold of 1": {
			data:    map[string]string{KeyCostSavingThreshold: "1"},
			wantErr: []string{`key "COST_SAVING_THRESHOLD"`, "less than 1"},
		},
		"negative threshold": {
			data:    map[string]string{KeyCostSavingThreshold: "-0.1"},
			wantErr: []string{`key "COST_SAVING_THRESHOLD"`, "must not be negative"},
		},
		"percent threshold": {
			data:    map[string]string{KeyCostSavingThreshold: "10%"},
			wantErr: []string{`key "COST_SAVING_THRESHOLD"`, "not a decimal fraction"},
		},
		"exponent tolerance": {
			data:    map[string]string{KeyLoadChangeTolerance: "1e-1"},
			wantErr: []string{`key "LOAD_CHANGE_TOLERANCE"`},
		},
		"tolerance above 1": {
			data:    map[string]string{KeyLoadChangeTolerance: "1.5"},
			wantErr: []string{`key "LOAD_CHANGE_TOLERANCE"`, "between 0 and 1"},
		},
		"NaN tolerance": {
			data:    map[string]string{KeyLoadChangeTolerance: "NaN"},
			wantErr: []string{`key "LOAD_CHANGE_TOLERANCE"`},
		},
		"URL without scheme": {
			data:    map[string]string{KeyPrometheusBaseURL: "prometheus:9090"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "http:// or https://"},
		},
		"URL with other scheme": {
			data:    map[string]string{KeyPrometheusBaseURL: "ftp://prometheus"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "http:// or https://"},
		},
		"URL without host": {
			data:    map[string]string{KeyPrometheusBaseURL: "http:///api"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "no host"},
		},
		"URL with query": {
			data:    map[string]string{KeyPrometheusBaseURL: "http://prom:9090/?x=1"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "query or fragment"},
		},
		"URL that does not parse": {
			data:    map[string]string{KeyPrometheusBaseURL: "http://prom:port"},
			wantErr: []string{`key "PROMETHEUS_BASE_URL"`, "not a valid URL"},
		},
		"cert without key": {
			data:    map[string]string{KeyPrometheusClientCertPath: "/c.pem"},
			wantErr: []string{`key "PROMETHEUS_CLIENT_KEY_PATH"`, "required when PROMETHEUS_CLIENT_CERT_PATH is set"},
		},
		"key without cert": {
			data:    map[string]string{KeyPrometheusClientKeyPath: "/k.pem"},
			wantErr: []string{`key "PROMETHEUS_CLIENT_CERT_PATH"`, "required when PROMETHEUS_CLIENT_KEY_PATH is set"},
		},
		"token and token path": {
			data:    map[string]string{KeyPrometheusBearerToken: "t", KeyPrometheusTokenPath: "/t"},
			wantErr: []string{`key "PROMETHEUS_TOKEN_PATH"`, "PROMETHEUS_BEARER_TOKEN"},
		},
		"token and token path in env": {
			env:     map[string]string{KeyPrometheusBearerToken: "t", KeyPrometheusTokenPath: "/t"},
			wantErr: []string{"environment variable PROMETHEUS_TOKEN_PATH", "not both"},
		},
		"token in the ConfigMap": {
			data:    map[string]string{KeyPrometheusBearerToken: "very-secret"},
			wantErr: []string{`key "PROMETHEUS_BEARER_TOKEN"`, "read only from the manager's environment"},
		},
		"bad env value names the variable": {
			env:     map[string]string{KeyGlobalPassInterval: "weekly"},
			wantErr: []string{"variantautoscaling-config", "environment variable GLOBAL_PASS_INTERVAL", `"weekly"`},
		},
		"several problems are all reported, by key": {
			data: map[string]string{KeyGlobalOptInterval: "x", KeyCostSavingThreshold: "2", "TYPO": "1"},
			wantErr: []string{
				`key "COST_SAVING_THRESHOLD"`, `key "GLOBAL_OPT_INTERVAL"`, `key "TYPO"`,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseOperatorConfig(tc.data, tc.env)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				var inv *InvalidError
				if !errors.As(err, &inv) || inv.ConfigMap != OperatorConfigMapName {
					t.Errorf("error %v is not an *InvalidError for %s", err, OperatorConfigMapName)
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseOperatorConfig() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOperatorConfigErrorOrder(t *testing.T) {
	_, err := ParseOperatorConfig(map[string]string{KeyGlobalOptInterval: "x", KeyCostSavingThreshold: "2"}, nil)
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("got %v, want *InvalidError", err)
	}
	var keys []string
	for _, p := range inv.Problems {
		keys = append(keys, p.Key)
	}
	// The problems come ordered by key.
	if diff := cmp.Diff([]string{KeyCostSavingThreshold, KeyGlobalOptInterval}, keys); diff != "" {
		t.Errorf("problem keys mismatch (-want +got):\n%s", diff)
	}
}

func TestSecretIsNotPrinted(t *testing.T) {
	const token = "very-secret-token"
	o, err := ParseOperatorConfig(nil, map[string]string{KeyPrometheusBearerToken: token})
	if err != nil {
		t.Fatal(err)
	}
	if string(o.Prometheus.BearerToken) != token {
		t.Fatalf("token = %q, want %q", o.Prometheus.BearerToken, token)
	}
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v", o), fmt.Sprintf("%+v", o), fmt.Sprintf("%#v", o), fmt.Sprint(o.Prometheus), string(js)} {
		if strings.Contains(s, token) {
			t.Errorf("secret printed: %s", s)
		}
		if !strings.Contains(s, redacted) {
			t.Errorf("no %s marker in: %s", redacted, s)
		}
	}
	// Nor in errors, e.g. a URL holding credentials.
	_, err = ParseOperatorConfig(map[string]string{KeyPrometheusBaseURL: "https://user:" + token + "@prom"}, nil)
	checkErr(t, err, []string{"credentials in the URL"})
	if strings.Contains(err.Error(), token) {
		t.Errorf("secret in error: %v", err)
	}
	_, err = ParseOperatorConfig(map[string]string{KeyPrometheusBaseURL: "ftp://user:" + token + "@prom:x"}, nil)
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("want an error without the secret, got %v", err)
	}
}

func TestOperatorEnv(t *testing.T) {
	got := OperatorEnv([]string{"PATH=/bin", "GLOBAL_OPT_INTERVAL=30s", "PROMETHEUS_BEARER_TOKEN=a=b", "NOEQUALS", "LOAD_CHANGE_TOLERANCE="})
	want := map[string]string{"GLOBAL_OPT_INTERVAL": "30s", "PROMETHEUS_BEARER_TOKEN": "a=b", "LOAD_CHANGE_TOLERANCE": ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OperatorEnv() mismatch (-want +got):\n%s", diff)
	}
}

func TestOperatorKeysSortedAndComplete(t *testing.T) {
	keys := OperatorKeys()
	if want := 29 + len(gatewayKeys); len(keys) != want {
		t.Errorf("got %d keys, want %d: %v", len(keys), want, keys)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i-1] >= keys[i] {
			t.Errorf("keys not sorted/unique at %d: %v", i, keys)
		}
	}
}
