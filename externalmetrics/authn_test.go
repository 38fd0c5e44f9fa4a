package externalmetrics

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// authConfigData is extension-apiserver-authentication as kube-apiserver
// writes it for the flags the test clusters use.
func authConfigData(caPEM string) map[string]string {
	return map[string]string{
		"requestheader-client-ca-file":       caPEM,
		"requestheader-allowed-names":        `["front-proxy-client"]`,
		"requestheader-username-headers":     `["X-Remote-User"]`,
		"requestheader-group-headers":        `["X-Remote-Group"]`,
		"requestheader-extra-headers-prefix": `["X-Remote-Extra-"]`,
	}
}

func TestParseFrontProxyConfig(t *testing.T) {
	ca := newTestCA(t, "front-proxy-ca")
	cases := map[string]struct {
		data    map[string]string
		wantErr string
	}{
		"as kube-apiserver writes it": {data: authConfigData(ca.pem)},
		"no CA":                       {data: map[string]string{"requestheader-username-headers": `["X-Remote-User"]`}, wantErr: "needs --requestheader-client-ca-file"},
		"not PEM":                     {data: authConfigData("garbage"), wantErr: "holds no PEM certificate"},
		"names not JSON": {data: func() map[string]string {
			d := authConfigData(ca.pem)
			d["requestheader-allowed-names"] = "front-proxy-client"
			return d
		}(), wantErr: "requestheader-allowed-names is not a JSON list"},
		"no user header": {data: func() map[string]string {
			d := authConfigData(ca.pem)
			delete(d, "requestheader-username-headers")
			return d
		}(), wantErr: "no requestheader-username-headers"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := parseFrontProxyConfig(tc.data)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	frontProxyCA, otherCA := newTestCA(t, "front-proxy-ca"), newTestCA(t, "client-ca")
	cfg, err := parseFrontProxyConfig(authConfigData(frontProxyCA.pem))
	if err != nil {
		t.Fatal(err)
	}
	proxy := frontProxyCA.issue(t, "front-proxy-client", x509.ExtKeyUsageClientAuth)
	aggregatorHeaders := http.Header{
		"X-Remote-User":  {"system:serviceaccount:kube-system:horizontal-pod-autoscaler"},
		"X-Remote-Group": {"system:serviceaccounts", "system:authenticated"},
		"X-Remote-Extra-Authentication.kubernetes.io%2fpod-Name": {"hpa-0"},
	}
	cases := map[string]struct {
		certs    []tls.Certificate
		header   http.Header
		wantUser user
		wantErr  string
	}{
		"the aggregator": {certs: []tls.Certificate{proxy}, header: aggregatorHeaders, wantUser: user{
			Name:   "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
			Groups: []string{"system:serviceaccounts", "system:authenticated"},
			Extra:  map[string][]string{"authentication.kubernetes.io/pod-name": {"hpa-0"}},
		}},
		"no certificate, the headers claim an admin": {header: http.Header{"X-Remote-User": {"admin"}, "X-Remote-Group": {"system:masters"}},
			wantErr: "only the aggregator"},
		"a certificate of another CA": {certs: []tls.Certificate{otherCA.issue(t, "front-proxy-client", x509.ExtKeyUsageClientAuth)},
			header: aggregatorHeaders, wantErr: "certificate signed by unknown authority"},
		"a name not allowed": {certs: []tls.Certificate{frontProxyCA.issue(t, "someone-else", x509.ExtKeyUsageClientAuth)},
			header: aggregatorHeaders, wantErr: `"someone-else" is not among requestheader-allowed-names`},
		"a server certificate": {certs: []tls.Certificate{frontProxyCA.issue(t, "front-proxy-client", x509.ExtKeyUsageServerAuth)},
			header: aggregatorHeaders, wantErr: "incompatible key usage"},
		"no user named": {certs: []tls.Certificate{proxy}, header: http.Header{"X-Remote-Group": {"system:masters"}}, wantErr: "no user in X-Remote-User"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "https://127.0.0.1/apis", http.NoBody)
			r.Header = tc.header
			r.TLS = &tls.ConnectionState{}
			for _, c := range tc.certs {
				r.TLS.PeerCertificates = append(r.TLS.PeerCertificates, c.Leaf)
			}
			got, err := cfg.authenticate(r)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantUser, got); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
}
