package externalmetrics

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writePair(t *testing.T, dir string, certPEM, keyPEM []byte, mtime time.Time) {
	t.Helper()
	for name, data := range map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func pemPair(t *testing.T, ca *testCA, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	c := ca.issue(t, name, x509.ExtKeyUsageServerAuth)
	der, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func servedLeaf(t *testing.T, s *servingCert) *x509.Certificate {
	t.Helper()
	c, err := s.getCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

func servedName(t *testing.T, s *servingCert) string { return servedLeaf(t, s).Subject.CommonName }

// A certificate renewed in place (cert-manager) is served from the next
// handshake; a half-written renewal keeps the last good one in service.
func TestServingCertFollowsTheFiles(t *testing.T) {
	ca, dir := newTestCA(t, "serving-ca"), t.TempDir()
	if _, err := newServingCert(dir, time.Now()); err == nil || !strings.Contains(err.Error(), "loading the external metrics serving certificate") {
		t.Fatalf("an empty folder: error %v, want one saying the certificate cannot be loaded", err)
	}
	firstCert, firstKey := pemPair(t, ca, "first")
	writePair(t, dir, firstCert, firstKey, time.Unix(1000, 0))
	s, err := newServingCert(dir, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := servedName(t, s); got != "first" {
		t.Fatalf("served %q, want first", got)
	}
	secondCert, secondKey := pemPair(t, ca, "second")
	writePair(t, dir, secondCert, secondKey, time.Unix(2000, 0))
	if got := servedName(t, s); got != "second" {
		t.Fatalf("after the renewal served %q, want second", got)
	}
	writePair(t, dir, firstCert, secondKey, time.Unix(3000, 0))
	if got := servedName(t, s); got != "second" {
		t.Fatalf("with a mismatched pair served %q, want the last good one (second)", got)
	}
}

func TestSelfSignedServingCert(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s, err := newServingCert("", now)
	if err != nil {
		t.Fatal(err)
	}
	leaf := servedLeaf(t, s)
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if !leaf.NotAfter.After(now.Add(364*24*time.Hour)) || leaf.NotBefore.After(now) {
		t.Errorf("valid from %v to %v, want about a year from %v", leaf.NotBefore, leaf.NotAfter, now)
	}
}
