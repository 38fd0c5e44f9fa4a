package externalmetrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
)

// Options configure the external-metrics API server.
type Options struct {
	// BindAddress is host:port to serve HTTPS on, e.g. ":6443".
	BindAddress string
	// CertDir holds tls.crt and tls.key; empty means a self-signed
	// certificate (then the APIService needs insecureSkipTLSVerify).
	CertDir string
	// Config reaches the API server, to read the aggregator's client CA and
	// to authorize every request (SubjectAccessReview).
	Config *rest.Config
}

// How often the front-proxy configuration is read again (a rotated CA).
const frontProxyRefresh = time.Minute

// Run serves p on the external metrics API until ctx ends. kube-apiserver
// reaches it through the APIService v1beta1.external.metrics.k8s.io (see
// config/externalmetrics).
func Run(ctx context.Context, opts Options, p *Provider) error {
	host, portText, err := net.SplitHostPort(opts.BindAddress)
	if err != nil {
		return fmt.Errorf("external metrics bind address %q: %w", opts.BindAddress, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("external metrics bind address %q: the port must be 1-65535", opts.BindAddress)
	}
	if host != "" && net.ParseIP(host) == nil {
		return fmt.Errorf("external metrics bind address %q: the host must be an IP address", opts.BindAddress)
	}
	if opts.Config == nil {
		return errors.New("external metrics: no configuration to reach the API server")
	}
	cs, err := kubernetes.NewForConfig(opts.Config)
	if err != nil {
		return fmt.Errorf("external metrics: a client of the API server: %w", err)
	}
	cert, err := newServingCert(opts.CertDir, time.Now())
	if err != nil {
		return err
	}
	authn := &frontProxy{configMaps: cs.CoreV1()}
	if err := authn.refresh(ctx); err != nil {
		return fmt.Errorf("external metrics: %w", err)
	}
	log := ctrl.LoggerFrom(ctx).WithName("external-metrics")
	h := &handler{provider: p, authn: authn, log: log,
		authz: newAccessReviewer(cs.AuthorizationV1(), time.Now)}
	ln, err := net.Listen("tcp", opts.BindAddress)
	if err != nil {
		return fmt.Errorf("serving external metrics on %s: %w", opts.BindAddress, err)
	}
	srv := &http.Server{
		Handler: h,
		// The certificate is checked per request against the front-proxy CA
		// in force, which can change while a connection stays open.
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cert.getCertificate, ClientAuth: tls.RequestClientCert},
		ErrorLog:          stdlog.New(logWriter{log.V(1)}, "", 0),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServeTLS(ln, "", "") }()
	log.Info("Serving external metrics", "address", ln.Addr().String(), "metric", MetricName)
	refresh := time.NewTicker(frontProxyRefresh)
	defer refresh.Stop()
	for {
		select {
		case err := <-served:
			return fmt.Errorf("serving external metrics on %s: %w", opts.BindAddress, err)
		case <-refresh.C:
			if err := authn.refresh(ctx); err != nil && ctx.Err() == nil {
				log.Error(err, "Reading the front-proxy configuration failed; the last one read stays in force")
			}
		case <-ctx.Done():
			return shutdown(srv)
		}
	}
}

// logWriter sends the HTTP server's own messages (TLS handshake errors of
// probes and scanners, mostly) to the operator's log, at debug level.
type logWriter struct{ log logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

// shutdown lets requests in flight finish, for at most 5 s.
func shutdown(srv *http.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("stopping the external metrics server: %w", err)
	}
	return nil
}
