package externalmetrics

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// The aggregator (kube-apiserver) calls an extension API server with its
// front-proxy client certificate and names the user it authenticated in
// request headers. Which CA signs that certificate, which names it may
// carry and which headers it uses are published in this ConfigMap, as
// kube-apiserver's --requestheader-* flags set them.
const (
	authConfigNamespace = "kube-system"
	authConfigName      = "extension-apiserver-authentication"
)

// user is who a request acts for, as the aggregator names them.
type user struct {
	Name, UID string
	Groups    []string
	Extra     map[string][]string
}

// frontProxyConfig is the parsed extension-apiserver-authentication.
type frontProxyConfig struct {
	roots         *x509.CertPool
	allowedNames  []string
	userHeaders   []string
	uidHeaders    []string
	groupHeaders  []string
	extraPrefixes []string
}

// parseFrontProxyConfig reads the requestheader-* keys of the ConfigMap.
func parseFrontProxyConfig(data map[string]string) (*frontProxyConfig, error) {
	caPEM := data["requestheader-client-ca-file"]
	if caPEM == "" {
		return nil, fmt.Errorf("%s/%s has no requestheader-client-ca-file: kube-apiserver needs --requestheader-client-ca-file (and --proxy-client-cert-file) to serve aggregated APIs",
			authConfigNamespace, authConfigName)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, fmt.Errorf("%s/%s: requestheader-client-ca-file holds no PEM certificate", authConfigNamespace, authConfigName)
	}
	c := &frontProxyConfig{roots: roots}
	for key, into := range map[string]*[]string{
		"requestheader-allowed-names":        &c.allowedNames,
		"requestheader-username-headers":     &c.userHeaders,
		"requestheader-uid-headers":          &c.uidHeaders,
		"requestheader-group-headers":        &c.groupHeaders,
		"requestheader-extra-headers-prefix": &c.extraPrefixes,
	} {
		if v := data[key]; v != "" {
			if err := json.Unmarshal([]byte(v), into); err != nil {
				return nil, fmt.Errorf("%s/%s: %s is not a JSON list of strings: %w", authConfigNamespace, authConfigName, key, err)
			}
		}
	}
	if len(c.userHeaders) == 0 {
		return nil, fmt.Errorf("%s/%s has no requestheader-username-headers", authConfigNamespace, authConfigName)
	}
	return c, nil
}

var errUnauthenticated = errors.New("only the aggregator (kube-apiserver with its front-proxy client certificate) may call this endpoint")

// authenticate returns the user a request acts for: the one the aggregator
// names, if the request carries a client certificate the front-proxy CA
// signed for client authentication, with an allowed name.
func (c *frontProxyConfig) authenticate(r *http.Request) (user, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return user{}, errUnauthenticated
	}
	leaf := r.TLS.PeerCertificates[0]
	intermediates := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: c.roots, Intermediates: intermediates,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return user{}, fmt.Errorf("%w: %w", errUnauthenticated, err)
	}
	if len(c.allowedNames) > 0 && !slices.Contains(c.allowedNames, leaf.Subject.CommonName) {
		return user{}, fmt.Errorf("%w: client certificate name %q is not among requestheader-allowed-names", errUnauthenticated, leaf.Subject.CommonName)
	}
	u := user{Name: firstHeader(r.Header, c.userHeaders), UID: firstHeader(r.Header, c.uidHeaders)}
	if u.Name == "" {
		return user{}, fmt.Errorf("%w: no user in %s", errUnauthenticated, strings.Join(c.userHeaders, ", "))
	}
	for _, h := range c.groupHeaders {
		u.Groups = append(u.Groups, r.Header.Values(h)...)
	}
	for name, values := range r.Header {
		for _, prefix := range c.extraPrefixes {
			if len(name) > len(prefix) && strings.EqualFold(name[:len(prefix)], prefix) {
				key := strings.ToLower(name[len(prefix):])
				if unescaped, err := url.PathUnescape(key); err == nil {
					key = unescaped
				}
				if u.Extra == nil {
					u.Extra = map[string][]string{}
				}
				u.Extra[key] = append(u.Extra[key], values...)
			}
		}
	}
	return u, nil
}

func firstHeader(h http.Header, names []string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// frontProxy keeps the latest good front-proxy configuration: a CA rotated
// in the ConfigMap is picked up at the next refresh, and a refresh that
// fails keeps the one in force.
type frontProxy struct {
	configMaps corev1client.ConfigMapsGetter
	mu         sync.RWMutex
	config     *frontProxyConfig
}

// refresh reads and parses the ConfigMap.
func (f *frontProxy) refresh(ctx context.Context) error {
	cm, err := f.configMaps.ConfigMaps(authConfigNamespace).Get(ctx, authConfigName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("reading %s/%s (the manager needs the extension-apiserver-authentication-reader Role, config/externalmetrics): %w",
			authConfigNamespace, authConfigName, err)
	}
	c, err := parseFrontProxyConfig(cm.Data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.config = c
	f.mu.Unlock()
	return nil
}

func (f *frontProxy) authenticate(r *http.Request) (user, error) {
	f.mu.RLock()
	c := f.config
	f.mu.RUnlock()
	if c == nil {
		return user{}, errUnauthenticated
	}
	return c.authenticate(r)
}
