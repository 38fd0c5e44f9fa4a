package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// KeyPrometheusAllowInsecureCredentials lets the operator send its Prometheus
// token over plain HTTP or without verifying the server certificate. Like the
// credentials themselves it is read only from the manager's environment (the
// manager's --prometheus-allow-insecure-credentials flag sets it).
const KeyPrometheusAllowInsecureCredentials = "PROMETHEUS_ALLOW_INSECURE_CREDENTIALS"

// KeyGatewayAllowInsecureCredentials is its namesake for the endpoint
// pickers' token (--gateway-allow-insecure-credentials).
const KeyGatewayAllowInsecureCredentials = "GATEWAY_ALLOW_INSECURE_CREDENTIALS"

// envOnlyKeys are read only from the manager's environment (which a Secret
// or a flag feeds), never from the ConfigMap: anyone with the view role can
// read a ConfigMap, and whoever can edit it must not be able to obtain or
// redirect the operator's token, which can scale every workload.
var envOnlyKeys = []string{
	KeyPrometheusBearerToken, KeyPrometheusTokenPath,
	KeyPrometheusInsecureSkipVerify, KeyPrometheusAllowInsecureCredentials,
	KeyGatewayBearerToken, KeyGatewayTokenPath, KeyGatewayTLSInsecureSkipVerify, KeyGatewayAllowInsecureCredentials,
}

// IsEnvOnlyKey reports whether a key of variantautoscaling-config may only be
// set through the manager's environment.
func IsEnvOnlyKey(key string) bool { return contains(envOnlyKeys, key) }

// errEnvOnly is the error for an env-only key found in the ConfigMap. It does
// not echo the value: it may be a token.
var errEnvOnly = errors.New("credentials and TLS-verification settings are read only from the manager's environment " +
	"(a mounted Secret or a flag), never from this ConfigMap, which anyone with the view role can read; the value was ignored")

// tokenKeys name the settings of one token the operator sends: to
// Prometheus, or to the endpoint pickers.
type tokenKeys struct {
	what, token, path, skipVerify, caCert, allowInsecure string
}

var (
	prometheusToken = tokenKeys{"Prometheus", KeyPrometheusBearerToken, KeyPrometheusTokenPath,
		KeyPrometheusInsecureSkipVerify, KeyPrometheusCACertPath, KeyPrometheusAllowInsecureCredentials}
	// The gateway token is usually the operator's own ServiceAccount token.
	gatewayToken = tokenKeys{"gateway", KeyGatewayBearerToken, KeyGatewayTokenPath,
		KeyGatewayTLSInsecureSkipVerify, KeyGatewayCACertPath, KeyGatewayAllowInsecureCredentials}
)

// check refuses what would hand the token to someone else, whatever server
// it goes to: given twice, or sent without verifying the server (unless
// allowed). It reports whether a token is configured and its transport must
// be checked further (insecure is not allowed).
func (k tokenKeys) check(c PrometheusConfig, probs *problems) (configured, strict bool) {
	if c.BearerToken == "" && c.TokenPath == "" {
		return false, false
	}
	if c.BearerToken != "" && c.TokenPath != "" {
		probs.addEnv(k.path, true, fmt.Errorf("must not be set together with %s: give the token or a file holding it, not both", k.token))
	}
	if !c.AllowInsecureCredentials && c.InsecureSkipVerify {
		probs.addEnv(k.skipVerify, true, fmt.Errorf("refusing to send the %s token without verifying the server certificate; "+
			"give %s or set %s=true (tests only)", k.what, k.caCert, k.allowInsecure))
	}
	return true, !c.AllowInsecureCredentials
}

// redirected is the error for a server a ConfigMap edit chose.
func (k tokenKeys) redirected(server string) error {
	return fmt.Errorf("with a %s token configured, %s must also come from the manager's environment: "+
		"a ConfigMap edit must never redirect the operator's token to another server", k.what, server)
}

// plainHTTP is the error for a token sent over plain HTTP to where.
func (k tokenKeys) plainHTTP(where string) error {
	return fmt.Errorf("refusing to send the %s token over plain HTTP to %s; use https or set %s=true (tests only)", k.what, where, k.allowInsecure)
}

func isPlainHTTP(u string) bool { return strings.HasPrefix(strings.ToLower(u), "http://") }

// checkCredentials guards the Prometheus token: also refused are a URL a
// ConfigMap edit chose and one over plain HTTP. fromEnv says which keys came
// from the environment.
func checkCredentials(p PrometheusConfig, fromEnv map[string]bool, probs *problems) {
	configured, strict := prometheusToken.check(p, probs)
	if !configured {
		return
	}
	if p.BaseURL != "" && !fromEnv[KeyPrometheusBaseURL] {
		probs.add(KeyPrometheusBaseURL, prometheusToken.redirected("the URL"))
	}
	if strict && isPlainHTTP(p.BaseURL) {
		probs.addEnv(KeyPrometheusBaseURL, fromEnv[KeyPrometheusBaseURL], prometheusToken.plainHTTP(RedactURL(p.BaseURL)))
	}
}

// checkGatewayCredentials guards the endpoint pickers' token the same way:
// the endpoints it goes to, listed or discovered, must come from the
// manager's environment, over https.
func checkGatewayCredentials(g GatewayConfig, fromEnv map[string]bool, probs *problems) {
	configured, strict := gatewayToken.check(g.Conn, probs)
	if !configured {
		return
	}
	for _, key := range []string{KeyGatewayEPPEndpoints, KeyGatewayEPPServiceSelector} {
		if fromEnv, set := fromEnv[key]; set && !fromEnv {
			probs.add(key, gatewayToken.redirected("the endpoint pickers"))
		}
	}
	if !strict {
		return
	}
	for _, e := range g.EndpointList() {
		if isPlainHTTP(e.URL) {
			probs.addEnv(KeyGatewayEPPEndpoints, fromEnv[KeyGatewayEPPEndpoints],
				gatewayToken.plainHTTP(fmt.Sprintf("%s (namespace %s)", RedactURL(e.URL), e.Namespace)))
		}
	}
	if g.ServiceSelector != "" && g.withDefaults().Scheme == "http" {
		probs.addEnv(KeyGatewayEPPScheme, fromEnv[KeyGatewayEPPScheme], gatewayToken.plainHTTP("the discovered endpoint pickers"))
	}
}

// RedactURL renders a URL for logs, Events and conditions: without user
// information, query or fragment (where tokens such as ?access_token= live).
// A value that does not parse is replaced entirely.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "[unparsable URL redacted]"
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	s := out.String()
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		s += " (credentials, query and fragment redacted)"
	}
	return s
}
