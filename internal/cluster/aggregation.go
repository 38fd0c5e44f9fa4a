package cluster

import (
	"crypto/x509"
	"path/filepath"
)

// Aggregation layer.
//
// kube-apiserver proxies /apis/external.metrics.k8s.io to an extension API
// server registered by an APIService, authenticating itself with a
// "front-proxy" client certificate and naming the user in X-Remote-* headers,
// which the extension server trusts because they are signed by the CA that
// kube-apiserver publishes in kube-system/extension-apiserver-authentication.
//
// On this machine every server listens on loopback, so the APIService's
// Service is of type ExternalName with externalName 127.0.0.1 and the port
// of the extension server: with --enable-aggregator-routing=false (the
// default) the aggregator resolves an ExternalName Service to
// https://<externalName>:<port> and skips the Endpoints check it makes for
// ClusterIP Services (k8s.io/apiserver/pkg/util/proxy.ResolveCluster).

// frontProxyUser is the common name of the aggregator's client certificate,
// the only name the extension servers accept in the X-Remote-* headers.
const frontProxyUser = "front-proxy-client"

// aggregationFlags writes a front-proxy CA and client certificate into dir and
// returns the kube-apiserver flags that enable the aggregation layer with them.
func aggregationFlags(dir string) (map[string]string, error) {
	ca, err := newCertAuthority("front-proxy-ca")
	if err != nil {
		return nil, err
	}
	clientCert, clientKey, err := ca.issue(frontProxyUser, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(dir, map[string][]byte{
		"front-proxy-ca.crt":     ca.pem,
		"front-proxy-client.crt": clientCert,
		"front-proxy-client.key": clientKey,
	}); err != nil {
		return nil, err
	}
	return map[string]string{
		"requestheader-client-ca-file":       filepath.Join(dir, "front-proxy-ca.crt"),
		"requestheader-allowed-names":        frontProxyUser,
		"requestheader-username-headers":     "X-Remote-User",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
		"proxy-client-cert-file":             filepath.Join(dir, "front-proxy-client.crt"),
		"proxy-client-key-file":              filepath.Join(dir, "front-proxy-client.key"),
		"enable-aggregator-routing":          "false",
	}, nil
}
