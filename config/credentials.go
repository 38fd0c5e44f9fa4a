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

// checkCredentials refuses settings that would hand the operator's Prometheus
// token to someone else: a token sent over plain HTTP or without verifying
// the server (unless PROMETHEUS_ALLOW_INSECURE_CREDENTIALS), or a token sent
// to a URL a ConfigMap edit chose. urlFromEnv says where the URL came from.
func checkCredentials(p PrometheusConfig, urlFromEnv bool, probs *problems) {
	if p.BearerToken == "" && p.TokenPath == "" {
		return
	}
	if p.BaseURL != "" && !urlFromEnv {
		probs.add(KeyPrometheusBaseURL, errors.New("with a Prometheus token configured, the URL must also come from the manager's "+
			"environment: a ConfigMap edit must never redirect the operator's token to another server"))
	}
	if p.AllowInsecureCredentials {
		return
	}
	if strings.HasPrefix(strings.ToLower(p.BaseURL), "http://") {
		probs.addEnv(KeyPrometheusBaseURL, urlFromEnv, fmt.Errorf("refusing to send the Prometheus token over plain HTTP to %s; "+
			"use https:// or set %s=true (tests only)", RedactURL(p.BaseURL), KeyPrometheusAllowInsecureCredentials))
	}
	if p.InsecureSkipVerify {
		probs.addEnv(KeyPrometheusInsecureSkipVerify, true, fmt.Errorf("refusing to send the Prometheus token without verifying the server certificate; "+
			"give %s or set %s=true (tests only)", KeyPrometheusCACertPath, KeyPrometheusAllowInsecureCredentials))
	}
}

// checkGatewayCredentials is checkCredentials for the endpoint pickers'
// token, which is usually the operator's own ServiceAccount token: the
// endpoints it goes to (listed or discovered) must come from the manager's
// environment, over https with the server verified.
func checkGatewayCredentials(g GatewayConfig, fromEnv map[string]bool, probs *problems) {
	c := g.Conn
	if c.BearerToken == "" && c.TokenPath == "" {
		return
	}
	if c.BearerToken != "" && c.TokenPath != "" {
		probs.addEnv(KeyGatewayTokenPath, true,
			fmt.Errorf("must not be set together with %s: give the token or a file holding it, not both", KeyGatewayBearerToken))
	}
	for _, key := range []string{KeyGatewayEPPEndpoints, KeyGatewayEPPServiceSelector} {
		if _, set := fromEnv[key]; set && !fromEnv[key] {
			probs.add(key, errors.New("with a gateway token configured, the endpoint pickers must come from the manager's "+
				"environment: a ConfigMap edit must never redirect the operator's token to another server"))
		}
	}
	if c.AllowInsecureCredentials {
		return
	}
	for _, e := range g.EndpointList() {
		if strings.HasPrefix(strings.ToLower(e.URL), "http://") {
			probs.addEnv(KeyGatewayEPPEndpoints, fromEnv[KeyGatewayEPPEndpoints], fmt.Errorf("refusing to send the gateway token over plain HTTP to %s (namespace %s); "+
				"use https:// or set %s=true (tests only)", RedactURL(e.URL), e.Namespace, KeyGatewayAllowInsecureCredentials))
		}
	}
	if g.ServiceSelector != "" && g.withDefaults().Scheme == "http" {
		probs.addEnv(KeyGatewayEPPScheme, fromEnv[KeyGatewayEPPScheme], fmt.Errorf("refusing to send the gateway token over plain HTTP to the discovered endpoint pickers; "+
			"use https or set %s=true (tests only)", KeyGatewayAllowInsecureCredentials))
	}
	if c.InsecureSkipVerify {
		probs.addEnv(KeyGatewayTLSInsecureSkipVerify, true, fmt.Errorf("refusing to send the gateway token without verifying the server certificate; "+
			"give %s or set %s=true (tests only)", KeyGatewayCACertPath, KeyGatewayAllowInsecureCredentials))
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
