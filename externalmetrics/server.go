package externalmetrics

import (
	"context"
	"fmt"
	"net"
	"strconv"

	"github.com/spf13/pflag"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
)

// Options configure the external-metrics API server.
type Options struct {
	// BindAddress is host:port to serve HTTPS on, e.g. ":6443".
	BindAddress string
	// CertDir holds tls.crt and tls.key; empty means a self-signed
	// certificate (then the APIService needs insecureSkipTLSVerify).
	CertDir string
	// Kubeconfig is used for the delegated authentication (TokenReview) and
	// authorization (SubjectAccessReview) of every request, and to read the
	// aggregator's client CA; empty means the in-cluster configuration.
	Kubeconfig string
}

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
	adapter := &basecmd.AdapterBase{Name: "wva-external-metrics", FlagSet: pflag.NewFlagSet("external-metrics", pflag.ContinueOnError)}
	adapter.InstallFlags()
	adapter.RemoteKubeConfigFile = opts.Kubeconfig
	o := adapter.CustomMetricsAdapterServerOptions
	if host != "" {
		o.SecureServing.BindAddress = net.ParseIP(host)
		if o.SecureServing.BindAddress == nil {
			return fmt.Errorf("external metrics bind address %q: the host must be an IP address", opts.BindAddress)
		}
	}
	o.SecureServing.BindPort = port
	// Without a folder the self-signed certificate stays in memory (the
	// library's default folder is relative to the working directory).
	o.SecureServing.ServerCert.CertDirectory = opts.CertDir
	if opts.CertDir != "" {
		o.SecureServing.ServerCert.PairName = "tls"
	}
	o.Authentication.RemoteKubeConfigFile = opts.Kubeconfig
	o.Authorization.RemoteKubeConfigFile = opts.Kubeconfig
	// The API server's own metrics would go to a process-wide registry that a
	// second server in the same process (tests restart the operator) cannot
	// register again.
	o.EnableMetrics = false
	adapter.WithExternalMetrics(p)
	if err := adapter.Run(ctx); err != nil {
		return fmt.Errorf("serving external metrics on %s: %w", opts.BindAddress, err)
	}
	return nil
}
