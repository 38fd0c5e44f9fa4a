package modelgroup

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/llm-d/variant-autoscaler/config"
)

// promConn is a connection to one Prometheus, built from the settings in
// force and the certificate files as they were when it was built.
type promConn struct {
	id        connID
	api       v1.API
	transport *http.Transport
	// token is the bearer token sent with every request ("" for none).
	token atomic.Pointer[string]
}

// connID identifies what a connection was built from: a change of the
// settings or of a certificate file (rotation) builds a new one.
type connID struct {
	cfg                config.PrometheusConfig
	caStamp, certStamp fileStamp
	keyStamp           fileStamp
}

// fileStamp tells whether a file changed: its modification time and size.
type fileStamp struct {
	mod  time.Time
	size int64
}

func stampOf(path string) (fileStamp, error) {
	if path == "" {
		return fileStamp{}, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{mod: fi.ModTime(), size: fi.Size()}, nil
}

// connect returns the connection for the settings in force, building a new
// one when the settings or the certificate files changed since the last
// refresh, and re-reads the token file (so a rotated token is used from the
// next refresh on). Called with refreshMu held.
func (s *PrometheusSource) connect(pc config.PrometheusConfig) (*promConn, error) {
	id := connID{cfg: pc}
	var err error
	if id.caStamp, err = stampOf(pc.CACertPath); err != nil {
		return nil, fmt.Errorf("reading %s: %w", config.KeyPrometheusCACertPath, err)
	}
	if id.certStamp, err = stampOf(pc.ClientCertPath); err != nil {
		return nil, fmt.Errorf("reading %s: %w", config.KeyPrometheusClientCertPath, err)
	}
	if id.keyStamp, err = stampOf(pc.ClientKeyPath); err != nil {
		return nil, fmt.Errorf("reading %s: %w", config.KeyPrometheusClientKeyPath, err)
	}
	token := string(pc.BearerToken)
	if pc.TokenPath != "" {
		data, err := os.ReadFile(pc.TokenPath)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", config.KeyPrometheusTokenPath, err)
		}
		token = strings.TrimSpace(string(data))
	}
	if s.conn == nil || s.conn.id != id {
		conn, err := s.newConn(id)
		if err != nil {
			return nil, err
		}
		if s.conn != nil {
			s.conn.transport.CloseIdleConnections()
		}
		s.conn = conn
	}
	s.conn.token.Store(&token)
	return s.conn, nil
}

func (s *PrometheusSource) newConn(id connID) (*promConn, error) {
	pc := id.cfg
	tlsCfg, err := tlsConfig(pc)
	if err != nil {
		return nil, err
	}
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   s.opts.MaxConcurrentQueries,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	conn := &promConn{id: id, transport: transport}
	var rt http.RoundTripper = &bearerRoundTripper{next: transport, token: &conn.token}
	if s.opts.WrapTransport != nil {
		rt = s.opts.WrapTransport(rt)
	}
	client, err := api.NewClient(api.Config{Address: pc.BaseURL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.KeyPrometheusBaseURL, err)
	}
	conn.api = v1.NewAPI(client)
	return conn, nil
}

// tlsConfig builds the TLS settings: CA file, client certificate and key,
// server name, insecure-skip-verify.
func tlsConfig(pc config.PrometheusConfig) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         pc.ServerName,
		InsecureSkipVerify: pc.InsecureSkipVerify, //nolint:gosec // an explicit, documented operator setting
	}
	if pc.CACertPath != "" {
		pem, err := os.ReadFile(pc.CACertPath)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", config.KeyPrometheusCACertPath, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in %s", config.KeyPrometheusCACertPath, pc.CACertPath)
		}
		c.RootCAs = pool
	}
	if pc.ClientCertPath != "" || pc.ClientKeyPath != "" {
		if pc.ClientCertPath == "" || pc.ClientKeyPath == "" {
			return nil, errors.New("a client certificate needs both " + config.KeyPrometheusClientCertPath + " and " + config.KeyPrometheusClientKeyPath)
		}
		cert, err := tls.LoadX509KeyPair(pc.ClientCertPath, pc.ClientKeyPath)
		if err != nil {
			return nil, fmt.Errorf("loading the client certificate (%s, %s): %w",
				config.KeyPrometheusClientCertPath, config.KeyPrometheusClientKeyPath, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// bearerRoundTripper adds "Authorization: Bearer <token>" when a token is set.
type bearerRoundTripper struct {
	next  http.RoundTripper
	token *atomic.Pointer[string]
}

func (b *bearerRoundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if t := b.token.Load(); t != nil && *t != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+*t)
	}
	return b.next.RoundTrip(req)
}
