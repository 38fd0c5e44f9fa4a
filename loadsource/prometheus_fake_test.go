package loadsource

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// fakeProm serves the instant-query endpoint of the Prometheus HTTP API
// (/api/v1/query) from canned vectors, one per query of the source. It is
// enough to test the source's own logic; the e2e test runs a real Prometheus.
type fakeProm struct {
	mu sync.Mutex
	// names maps a PromQL query to the name of the source's query.
	names map[string]string
	// vectors holds the samples answered per query name.
	vectors map[string][]fakeSample
	// fail makes the named queries fail ("*": all).
	fail map[string]bool
	// requests counts the requests to /api/v1/query; auth records the
	// Authorization header of the last one, clientSerial the serial number
	// of its TLS client certificate (0 without one).
	requests     atomic.Int64
	auth         string
	clientSerial int64
}

type fakeSample struct {
	key   modelgroup.Key
	value float64
}

func newFakeProm(cfg *config.Config) *fakeProm {
	f := &fakeProm{names: map[string]string{}, vectors: map[string][]fakeSample{}, fail: map[string]bool{}}
	for _, q := range buildQueries(cfg, DefaultRateWindow) {
		f.names[q.promQL] = q.name
	}
	return f
}

// setGroup sets every per-group query of a group to plausible values.
func (f *fakeProm) setGroup(key modelgroup.Key, rate, in, out float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, v := range map[string]float64{
		queryRate: rate, queryPromptTokens: in, queryGenTokens: out, queryTTFT: 120, queryITL: 15, queryAge: 1,
	} {
		f.putLocked(name, key, v)
	}
}

func (f *fakeProm) put(name string, key modelgroup.Key, v float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putLocked(name, key, v)
}

func (f *fakeProm) putLocked(name string, key modelgroup.Key, v float64) {
	for i, s := range f.vectors[name] {
		if s.key == key {
			f.vectors[name][i].value = v
			return
		}
	}
	f.vectors[name] = append(f.vectors[name], fakeSample{key, v})
}

func (f *fakeProm) remove(name string, key modelgroup.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.vectors[name][:0]
	for _, s := range f.vectors[name] {
		if s.key != key {
			out = append(out, s)
		}
	}
	f.vectors[name] = out
}

func (f *fakeProm) setFail(name string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[name] = fail
}

func (f *fakeProm) lastAuth() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.auth
}

func (f *fakeProm) lastClientSerial() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clientSerial
}

func promValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	f.requests.Add(1)
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = r.Header.Get("Authorization")
	f.clientSerial = 0
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		f.clientSerial = r.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	w.Header().Set("Content-Type", "application/json")
	name, ok := f.names[r.Form.Get("query")]
	if !ok || f.fail[name] || f.fail["*"] {
		w.WriteHeader(http.StatusUnprocessableEntity)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"status": "error", "errorType": "execution", "error": fmt.Sprintf("query %q failed", r.Form.Get("query")),
		})
		return
	}
	ts, _ := strconv.ParseFloat(r.Form.Get("time"), 64)
	result := []map[string]any{}
	for _, s := range f.vectors[name] {
		result = append(result, map[string]any{
			"metric": map[string]string{"namespace": s.key.Namespace, "model_name": s.key.ModelID},
			"value":  []any{ts, promValue(s.value)},
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"status": "success",
		"data":   map[string]any{"resultType": "vector", "result": result},
	})
}

// staticConfig is a modelgroup.ConfigSource tests replace the config of.
type staticConfig struct{ p atomic.Pointer[config.Config] }

func (s *staticConfig) Config() *config.Config { return s.p.Load() }

// testConfig returns defaults pointing at url with a 10s staleness limit.
func testConfig(url string, edit ...func(*config.Config)) *config.Config {
	c := config.Defaults()
	c.Operator.Prometheus.BaseURL = url
	c.Operator.Prometheus.Staleness = 10 * time.Second
	c.Operator.Prometheus.QueryTimeout = 5 * time.Second
	for _, e := range edit {
		e(c)
	}
	return c
}

// testPKI is a CA with a server certificate for the name prometheus.test
// (only that name: connecting to 127.0.0.1 needs PROMETHEUS_SERVER_NAME) and
// a client certificate, written as PEM files into a folder.
type testPKI struct {
	pool                          *x509.CertPool
	server                        tls.Certificate
	caFile, clientCert, clientKey string
	// issue signs a leaf certificate with the CA: PEM certificate and key.
	issue func(serial int64, usage x509.ExtKeyUsage, dns []string) ([]byte, []byte)
}

// clientSerial is the serial number of the first client certificate.
const clientSerial = 3

// rotateClient replaces the client certificate and key files with a new
// pair with the given serial number.
func (p *testPKI) rotateClient(t *testing.T, serial int64) {
	t.Helper()
	cert, key := p.issue(serial, x509.ExtKeyUsageClientAuth, nil)
	if err := os.WriteFile(p.clientKey, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.clientCert, cert, 0o600); err != nil {
		t.Fatal(err)
	}
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey := mustKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, dns []string) ([]byte, []byte) {
		key := mustKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: fmt.Sprint("leaf ", serial)},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	}
	p := &testPKI{pool: x509.NewCertPool(), issue: issue}
	p.pool.AddCert(ca)
	srvCert, srvKey := issue(2, x509.ExtKeyUsageServerAuth, []string{"prometheus.test"})
	if p.server, err = tls.X509KeyPair(srvCert, srvKey); err != nil {
		t.Fatal(err)
	}
	cliCert, cliKey := issue(clientSerial, x509.ExtKeyUsageClientAuth, nil)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.clientCert = write("client.crt", cliCert)
	p.clientKey = write("client.key", cliKey)
	return p
}

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// serveTLS serves h over TLS with the PKI's server certificate, requiring a
// client certificate signed by its CA.
func (p *testPKI) serveTLS(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{p.server},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: p.pool,
	}, ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + ln.Addr().String()
}
