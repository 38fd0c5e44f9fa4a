package loadsource

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"

	"github.com/llm-d/variant-autoscaler/config"
)

// Transport settings prometheus/common leaves to the caller.
const (
	idleConnTimeout = 90 * time.Second
	minTLSVersion   = tls.VersionTLS12
)

// promConn is a connection to one Prometheus, built from the PROMETHEUS_*
// settings in force. prometheus/common's transport re-reads the token file
// on every request and the CA, certificate and key files when they change,
// so a rotated file needs no new connection; changed settings do.
type promConn struct {
	cfg       config.PrometheusConfig
	api       v1.API
	transport http.RoundTripper
}

// connect returns the connection for the settings in force, building a new
// one when they changed since the last refresh. Called with refreshMu held.
func (s *Prometheus) connect(pc config.PrometheusConfig) (*promConn, error) {
	if s.conn != nil && s.conn.cfg == pc {
		return s.conn, nil
	}
	conn, err := s.newConn(pc)
	if err != nil {
		return nil, err
	}
	if s.conn != nil {
		closeIdle(s.conn.transport)
	}
	s.conn = conn
	return conn, nil
}

func (s *Prometheus) newConn(pc config.PrometheusConfig) (*promConn, error) {
	hc := httpClientConfig(pc)
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("the %s settings: %w", config.KeyPrometheusBaseURL, err)
	}
	transport, err := promconfig.NewRoundTripperFromConfig(hc, "variant-autoscaler-load",
		promconfig.WithIdleConnTimeout(idleConnTimeout))
	if err != nil {
		return nil, fmt.Errorf("building the Prometheus client (%s, %s, %s, %s): %w",
			config.KeyPrometheusCACertPath, config.KeyPrometheusClientCertPath,
			config.KeyPrometheusClientKeyPath, config.KeyPrometheusTokenPath, err)
	}
	// Issue 12: no answer may be read without a bound.
	rt := limitBodies(transport, MaxResponseBytes)
	if s.opts.WrapTransport != nil {
		rt = s.opts.WrapTransport(rt)
	}
	client, err := api.NewClient(api.Config{Address: pc.BaseURL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.KeyPrometheusBaseURL, err)
	}
	return &promConn{cfg: pc, api: v1.NewAPI(client), transport: transport}, nil
}

// httpClientConfig translates the operator's PROMETHEUS_* settings into
// prometheus/common's client settings. The proxy comes from the
// environment (HTTPS_PROXY, NO_PROXY), as for every Go HTTP client.
func httpClientConfig(pc config.PrometheusConfig) promconfig.HTTPClientConfig {
	hc := promconfig.HTTPClientConfig{
		TLSConfig: promconfig.TLSConfig{
			CAFile:             pc.CACertPath,
			CertFile:           pc.ClientCertPath,
			KeyFile:            pc.ClientKeyPath,
			ServerName:         pc.ServerName,
			InsecureSkipVerify: pc.InsecureSkipVerify,
			MinVersion:         promconfig.TLSVersion(minTLSVersion),
		},
		EnableHTTP2: true,
		ProxyConfig: promconfig.ProxyConfig{ProxyFromEnvironment: true},
	}
	switch {
	case pc.TokenPath != "":
		hc.Authorization = &promconfig.Authorization{Type: "Bearer", CredentialsFile: pc.TokenPath}
	case pc.BearerToken != "":
		hc.Authorization = &promconfig.Authorization{Type: "Bearer", Credentials: promconfig.Secret(pc.BearerToken)}
	}
	return hc
}

// closeIdle closes the idle connections of a transport no longer used.
func closeIdle(rt http.RoundTripper) {
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
