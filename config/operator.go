package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// Keys of the operator ConfigMap (variantautoscaling-config). Environment
// variables of the manager with the same names override them.
const (
	KeyGlobalOptInterval            = "GLOBAL_OPT_INTERVAL"
	KeyGlobalPassInterval           = "GLOBAL_PASS_INTERVAL"
	KeyPrometheusBaseURL            = "PROMETHEUS_BASE_URL"
	KeyPrometheusCACertPath         = "PROMETHEUS_CA_CERT_PATH"
	KeyPrometheusClientCertPath     = "PROMETHEUS_CLIENT_CERT_PATH"
	KeyPrometheusClientKeyPath      = "PROMETHEUS_CLIENT_KEY_PATH"
	KeyPrometheusServerName         = "PROMETHEUS_SERVER_NAME"
	KeyPrometheusInsecureSkipVerify = "PROMETHEUS_TLS_INSECURE_SKIP_VERIFY"
	KeyPrometheusBearerToken        = "PROMETHEUS_BEARER_TOKEN"
	KeyPrometheusTokenPath          = "PROMETHEUS_TOKEN_PATH"
	KeyPrometheusQueryTimeout       = "PROMETHEUS_QUERY_TIMEOUT"
	KeyPrometheusStaleness          = "PROMETHEUS_STALENESS"
	KeyScaleToZeroDefaultEnabled    = "SCALE_TO_ZERO_DEFAULT_ENABLED"
	KeyScaleToZeroDefaultRetention  = "SCALE_TO_ZERO_DEFAULT_RETENTION"
	KeyStabilizationWindow          = "STABILIZATION_WINDOW"
	KeyCostSavingThreshold          = "COST_SAVING_THRESHOLD"
	KeyLoadChangeTolerance          = "LOAD_CHANGE_TOLERANCE"
	KeyMaxReplicasPerVariant        = "MAX_REPLICAS_PER_VARIANT"
	KeyScaleUpMaxReplicas           = "SCALE_UP_MAX_REPLICAS"
	KeyScaleUpMaxPercent            = "SCALE_UP_MAX_PERCENT"
	KeyScaleUpPeriod                = "SCALE_UP_PERIOD"
	KeyMaxLoadJumpFactor            = "MAX_LOAD_JUMP_FACTOR"
	KeyLoadJumpConfirmation         = "LOAD_JUMP_CONFIRMATION"
	KeyBacklogDrainTime             = "BACKLOG_DRAIN_TIME"
)

// Defaults of the operator settings.
const (
	defaultGlobalOptInterval          = 60 * time.Second
	defaultGlobalPassInterval         = 10 * time.Minute
	defaultPrometheusQueryTimeout     = 10 * time.Second
	defaultPrometheusStaleness        = 5 * time.Minute
	defaultScaleToZeroRetention       = 10 * time.Minute
	defaultStabilizationWindow        = 5 * time.Minute
	defaultCostSavingThreshold        = 0.1
	defaultLoadChangeTolerance        = 0.1
	defaultScaleToZeroDefaultsEnabled = false
	// DefaultMaxReplicasPerVariant is the operator-wide ceiling of one
	// variant's replicas when neither the ConfigMap nor the manager's flag
	// sets one.
	DefaultMaxReplicasPerVariant = 100
	defaultScaleUpMaxReplicas    = 4
	defaultScaleUpMaxPercent     = 100
	defaultScaleUpPeriod         = time.Minute
	defaultMaxLoadJumpFactor     = 10
	defaultLoadJumpConfirmation  = 2 * time.Minute
	defaultBacklogDrainTime      = 2 * time.Minute
)

// OperatorConfig holds the settings of variantautoscaling-config.
type OperatorConfig struct {
	// OptInterval (GLOBAL_OPT_INTERVAL) is how often a group is re-evaluated
	// at the latest, and the load refresh interval; > 0.
	OptInterval time.Duration
	// PassInterval (GLOBAL_PASS_INTERVAL) is the period of the global pass; > 0.
	PassInterval time.Duration
	// Prometheus holds the connection settings of the load source.
	Prometheus PrometheusConfig
	// ScaleToZeroDefault (SCALE_TO_ZERO_DEFAULT_ENABLED/_RETENTION) is the
	// scale-to-zero policy used when model-scale-to-zero-config does not set one.
	ScaleToZeroDefault ScaleToZeroPolicy
	// StabilizationWindow (STABILIZATION_WINDOW) is how long a lower
	// replica count must persist before it is applied; >= 0.
	StabilizationWindow time.Duration
	// CostSavingThreshold (COST_SAVING_THRESHOLD) is the relative saving a
	// different variant mix must bring before it replaces the current one; in [0, 1).
	CostSavingThreshold float64
	// LoadChangeTolerance (LOAD_CHANGE_TOLERANCE) is the relative change of
	// a group's load that makes the load refresher enqueue it; in [0, 1].
	LoadChangeTolerance float64
	// MaxReplicasPerVariant (MAX_REPLICAS_PER_VARIANT) is the operator-wide
	// ceiling of one variant's replicas, whatever spec.maxReplicas says; a
	// VA whose minReplicas exceeds it is left out of its group's plan.
	MaxReplicasPerVariant int
	// ScaleUp limits how fast a variant grows (as the HPA's behavior.scaleUp).
	ScaleUp ScaleUpLimit
	// LoadJump is the plausibility check of measured rates.
	LoadJump LoadJumpCheck
	// BacklogDrainTime (BACKLOG_DRAIN_TIME) is the time within which a plan
	// serves the requests waiting for a model, on top of its arrival rate;
	// 0 sizes for the arrival rate alone.
	BacklogDrainTime time.Duration
	// Capacity (CAPACITY_*) says whether accelerators are arbitrated
	// between groups, and where the inventory comes from (capacity.go).
	Capacity CapacityConfig
	// Gateway (GATEWAY_*) is where demand is read at the inference gateway (gateway.go).
	Gateway GatewayConfig
}

// ScaleUpLimit bounds a variant's growth within any Period to the larger of
// MaxReplicas more replicas and MaxPercent percent more replicas than it had
// at the start of the period.
type ScaleUpLimit struct {
	// MaxReplicas (SCALE_UP_MAX_REPLICAS) replicas may be added per Period.
	MaxReplicas int
	// MaxPercent (SCALE_UP_MAX_PERCENT) percent may be added per Period.
	MaxPercent int
	// Period (SCALE_UP_PERIOD) is the window the limit applies to.
	Period time.Duration
}

// LoadJumpCheck makes an implausible jump of a group's measured arrival rate
// (above Factor times the last accepted rate, and at least 1 req/s) count as
// stale metrics: replicas are held until the new level persisted for
// Confirmation. A glitch of a counter then moves nothing.
type LoadJumpCheck struct {
	// Factor (MAX_LOAD_JUMP_FACTOR); 0 turns the check off.
	Factor float64
	// Confirmation (LOAD_JUMP_CONFIRMATION) is how long a jump must persist
	// before it is believed.
	Confirmation time.Duration
}

// PrometheusConfig holds the Prometheus connection settings. An empty BaseURL
// means there is no Prometheus.
type PrometheusConfig struct {
	// BaseURL is an http or https URL; "" when Prometheus is not used.
	BaseURL string
	// CACertPath is a PEM file of CAs to verify the server with.
	CACertPath string
	// ClientCertPath and ClientKeyPath are the client certificate and key
	// for mutual TLS; both set or both empty.
	ClientCertPath string
	ClientKeyPath  string
	// ServerName overrides the name the server certificate is verified against.
	ServerName string
	// InsecureSkipVerify disables verification of the server certificate.
	InsecureSkipVerify bool
	// BearerToken and TokenPath authenticate to Prometheus; at most one is
	// set, and only from the manager's environment.
	BearerToken Secret
	TokenPath   string
	// AllowInsecureCredentials lets the token go over plain HTTP or without
	// verification of the server (PROMETHEUS_ALLOW_INSECURE_CREDENTIALS).
	AllowInsecureCredentials bool
	// QueryTimeout bounds one query; > 0.
	QueryTimeout time.Duration
	// Staleness is the age beyond which a sample is stale; > 0.
	Staleness time.Duration
}

// Enabled reports whether a Prometheus is configured.
func (p PrometheusConfig) Enabled() bool { return p.BaseURL != "" }

// Secret is a string that never shows up in logs: fmt and JSON render it as
// "[redacted]". Convert it with string(s) to use it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalJSON keeps JSON logging from printing the secret.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// DefaultOperatorConfig returns the operator settings in force when neither
// the ConfigMap nor the environment sets anything.
func DefaultOperatorConfig() OperatorConfig {
	return OperatorConfig{
		OptInterval:  defaultGlobalOptInterval,
		PassInterval: defaultGlobalPassInterval,
		Prometheus: PrometheusConfig{
			QueryTimeout: defaultPrometheusQueryTimeout,
			Staleness:    defaultPrometheusStaleness,
		},
		ScaleToZeroDefault: ScaleToZeroPolicy{
			Enabled:   defaultScaleToZeroDefaultsEnabled,
			Retention: defaultScaleToZeroRetention,
		},
		StabilizationWindow: defaultStabilizationWindow,
		CostSavingThreshold: defaultCostSavingThreshold,
		LoadChangeTolerance: defaultLoadChangeTolerance,

		MaxReplicasPerVariant: DefaultMaxReplicasPerVariant,
		ScaleUp: ScaleUpLimit{
			MaxReplicas: defaultScaleUpMaxReplicas,
			MaxPercent:  defaultScaleUpMaxPercent,
			Period:      defaultScaleUpPeriod,
		},
		LoadJump:         LoadJumpCheck{Factor: defaultMaxLoadJumpFactor, Confirmation: defaultLoadJumpConfirmation},
		BacklogDrainTime: defaultBacklogDrainTime,
		Capacity:         DefaultCapacityConfig(),
	}
}

// operatorKey is one key of the operator ConfigMap and how to apply its value.
type operatorKey struct {
	name string
	set  func(o *OperatorConfig, v string) error
}

var operatorKeys = []operatorKey{
	{KeyGlobalOptInterval, setDuration(func(o *OperatorConfig) *time.Duration { return &o.OptInterval }, rangeOptInterval)},
	{KeyGlobalPassInterval, setDuration(func(o *OperatorConfig) *time.Duration { return &o.PassInterval }, rangePassInterval)},
	{KeyPrometheusBaseURL, func(o *OperatorConfig, v string) error {
		if err := checkPrometheusURL(v); err != nil {
			return err
		}
		o.Prometheus.BaseURL = v
		return nil
	}},
	{KeyPrometheusCACertPath, setString(func(o *OperatorConfig) *string { return &o.Prometheus.CACertPath })},
	{KeyPrometheusClientCertPath, setString(func(o *OperatorConfig) *string { return &o.Prometheus.ClientCertPath })},
	{KeyPrometheusClientKeyPath, setString(func(o *OperatorConfig) *string { return &o.Prometheus.ClientKeyPath })},
	{KeyPrometheusServerName, setString(func(o *OperatorConfig) *string { return &o.Prometheus.ServerName })},
	{KeyPrometheusInsecureSkipVerify, setBool(func(o *OperatorConfig) *bool { return &o.Prometheus.InsecureSkipVerify })},
	{KeyPrometheusBearerToken, func(o *OperatorConfig, v string) error {
		o.Prometheus.BearerToken = Secret(v)
		return nil
	}},
	{KeyPrometheusTokenPath, setString(func(o *OperatorConfig) *string { return &o.Prometheus.TokenPath })},
	{KeyPrometheusAllowInsecureCredentials, setBool(func(o *OperatorConfig) *bool { return &o.Prometheus.AllowInsecureCredentials })},
	{KeyPrometheusQueryTimeout, setDuration(func(o *OperatorConfig) *time.Duration { return &o.Prometheus.QueryTimeout }, rangeQueryTimeout)},
	{KeyPrometheusStaleness, setDuration(func(o *OperatorConfig) *time.Duration { return &o.Prometheus.Staleness }, rangeStaleness)},
	{KeyScaleToZeroDefaultEnabled, setBool(func(o *OperatorConfig) *bool { return &o.ScaleToZeroDefault.Enabled })},
	{KeyScaleToZeroDefaultRetention, setDuration(func(o *OperatorConfig) *time.Duration { return &o.ScaleToZeroDefault.Retention }, rangeRetention)},
	{KeyStabilizationWindow, setDuration(func(o *OperatorConfig) *time.Duration { return &o.StabilizationWindow }, rangeStabilization)},
	{KeyCostSavingThreshold, setFraction(func(o *OperatorConfig) *float64 { return &o.CostSavingThreshold }, false)},
	{KeyLoadChangeTolerance, setFraction(func(o *OperatorConfig) *float64 { return &o.LoadChangeTolerance }, true)},
	{KeyMaxReplicasPerVariant, setInt(func(o *OperatorConfig) *int { return &o.MaxReplicasPerVariant }, rangeMaxReplicasPerVariant)},
	{KeyScaleUpMaxReplicas, setInt(func(o *OperatorConfig) *int { return &o.ScaleUp.MaxReplicas }, rangeScaleUpMaxReplicas)},
	{KeyScaleUpMaxPercent, setInt(func(o *OperatorConfig) *int { return &o.ScaleUp.MaxPercent }, rangeScaleUpMaxPercent)},
	{KeyScaleUpPeriod, setDuration(func(o *OperatorConfig) *time.Duration { return &o.ScaleUp.Period }, rangeScaleUpPeriod)},
	{KeyMaxLoadJumpFactor, func(o *OperatorConfig, v string) error {
		f, err := parseLoadJumpFactor(v)
		if err != nil {
			return err
		}
		o.LoadJump.Factor = f
		return nil
	}},
	{KeyLoadJumpConfirmation, setDuration(func(o *OperatorConfig) *time.Duration { return &o.LoadJump.Confirmation }, rangeLoadJumpConfirm)},
	{KeyBacklogDrainTime, setDuration(func(o *OperatorConfig) *time.Duration { return &o.BacklogDrainTime }, rangeBacklogDrain)},
}

// OperatorKeys returns the keys of the operator ConfigMap, sorted.
func OperatorKeys() []string {
	out := make([]string, len(operatorKeys))
	for i, k := range operatorKeys {
		out[i] = k.name
	}
	sort.Strings(out)
	return out
}

// OperatorEnv picks the variables that override operator ConfigMap keys out
// of an environment in os.Environ form ("NAME=value").
func OperatorEnv(environ []string) map[string]string {
	known := OperatorKeys()
	out := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && contains(known, name) {
			out[name] = value
		}
	}
	return out
}

// ParseOperatorConfig parses the data of variantautoscaling-config. Every key
// is optional; an absent or blank value takes the default. env holds the
// manager's environment (only the variables named like a key are read): a
// non-blank variable wins over the ConfigMap key of the same name. Values are
// trimmed of surrounding white space. Unknown keys are errors, so typos do not
// pass silently. The error is an *InvalidError listing every problem.
func ParseOperatorConfig(data, env map[string]string) (OperatorConfig, error) {
	out := DefaultOperatorConfig()
	probs := problems{configMap: OperatorConfigMapName}

	known := OperatorKeys()
	for _, key := range sortedKeys(data) {
		if !contains(known, key) {
			msg := "unknown key"
			if s := suggest(key, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			probs.add(key, fmt.Errorf("%s; known keys: %s", msg, strings.Join(known, ", ")))
		}
	}

	// fromEnv records which keys the environment set, for error messages.
	fromEnv := map[string]bool{}
	for _, k := range operatorKeys {
		value, isEnv := strings.TrimSpace(env[k.name]), true
		if value == "" {
			value, isEnv = strings.TrimSpace(data[k.name]), false
		}
		if value == "" {
			continue
		}
		if !isEnv && IsEnvOnlyKey(k.name) {
			probs.add(k.name, errEnvOnly)
			continue
		}
		fromEnv[k.name] = isEnv
		probs.addEnv(k.name, isEnv, k.set(&out, value))
	}

	p := out.Prometheus
	if (p.ClientCertPath == "") != (p.ClientKeyPath == "") {
		missing := KeyPrometheusClientKeyPath
		if p.ClientKeyPath != "" {
			missing = KeyPrometheusClientCertPath
		}
		probs.add(missing, fmt.Errorf("required when %s is set: give both the client certificate and key, or neither",
			otherOf(missing, KeyPrometheusClientCertPath, KeyPrometheusClientKeyPath)))
	}
	checkCredentials(p, fromEnv, &probs)
	checkGatewayCredentials(out.Gateway, fromEnv, &probs)

	if err := probs.err(); err != nil {
		return DefaultOperatorConfig(), err
	}
	return out, nil
}

// otherOf returns whichever of a and b is not key.
func otherOf(key, a, b string) string {
	if key == a {
		return b
	}
	return a
}

func setString(field func(*OperatorConfig) *string) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		*field(o) = v
		return nil
	}
}

func setBool(field func(*OperatorConfig) *bool) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean; use true or false", v)
		}
		*field(o) = b
		return nil
	}
}

func setDuration(field func(*OperatorConfig) *time.Duration, r durationRange) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		d, err := parseBoundedDuration(v, r)
		if err != nil {
			return err
		}
		*field(o) = d
		return nil
	}
}

func setInt(field func(*OperatorConfig) *int, r intRange) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		n, err := parseBoundedInt(v, r)
		if err != nil {
			return err
		}
		*field(o) = int(n)
		return nil
	}
}

// setFraction parses a decimal in [0, 1), or [0, 1] when allowOne.
func setFraction(field func(*OperatorConfig) *float64, allowOne bool) func(*OperatorConfig, string) error {
	return func(o *OperatorConfig, v string) error {
		f, err := llmdv1alpha1.ParseDecimal("value", v)
		if err != nil {
			var de *llmdv1alpha1.DecimalError
			if errors.As(err, &de) {
				return fmt.Errorf("%q is not a decimal fraction such as 0.1: %s", v, de.Reason)
			}
			return err
		}
		if f > 1 || (f == 1 && !allowOne) {
			if allowOne {
				return fmt.Errorf("%q must be between 0 and 1", v)
			}
			return fmt.Errorf("%q must be at least 0 and less than 1", v)
		}
		*field(o) = f
		return nil
	}
}

// checkPrometheusURL accepts an absolute http(s) URL without credentials,
// query or fragment.
func checkPrometheusURL(v string) error { return checkServerURL(v, prometheusToken) }

// checkServerURL checks the URL of a server the operator may send the token
// k to, which belongs in k's keys instead of the URL.
func checkServerURL(v string, k tokenKeys) error {
	u, err := url.Parse(v)
	if err != nil {
		// The URL is not echoed: it might hold credentials.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("not a valid URL: %v", err)
	}
	switch {
	case u.User != nil:
		// Not echoing the URL here: it holds credentials.
		return fmt.Errorf("credentials in the URL are not supported (they would end up in logs); use %s or %s",
			k.token, k.path)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q must start with http:// or https://", RedactURL(v))
	case u.Host == "":
		return fmt.Errorf("%q has no host", RedactURL(v))
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(v, "?") || strings.Contains(v, "#"):
		// Not echoing the query: it may hold a token (?access_token=).
		return fmt.Errorf("%q must not contain a query or fragment (tokens belong in %s, set in the manager's environment)",
			RedactURL(v), k.path)
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
