package externalmetrics

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// servingCert gives the TLS certificate: tls.crt and tls.key from a folder,
// read again when either file changes (cert-manager renews them in place),
// or a self-signed one made at start.
type servingCert struct {
	dir string

	mu      sync.Mutex
	cert    *tls.Certificate
	version string // the files' sizes and times when read
}

func newServingCert(dir string, now time.Time) (*servingCert, error) {
	s := &servingCert{dir: dir}
	if dir == "" {
		c, err := selfSigned(now)
		if err != nil {
			return nil, fmt.Errorf("making a self-signed serving certificate: %w", err)
		}
		s.cert = c
		return s, nil
	}
	if _, err := s.get(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *servingCert) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) { return s.get() }

func (s *servingCert) get() (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dir == "" {
		return s.cert, nil
	}
	certFile, keyFile := filepath.Join(s.dir, "tls.crt"), filepath.Join(s.dir, "tls.key")
	version, err := filesVersion(certFile, keyFile)
	if err == nil && version == s.version {
		return s.cert, nil
	}
	if err == nil {
		var c tls.Certificate
		if c, err = tls.LoadX509KeyPair(certFile, keyFile); err == nil {
			s.cert, s.version = &c, version
			return s.cert, nil
		}
	}
	if s.cert != nil {
		// Between the writes of a renewal the pair may not match: keep
		// serving the last good one.
		return s.cert, nil
	}
	return nil, fmt.Errorf("loading the external metrics serving certificate from %s: %w", s.dir, err)
}

func filesVersion(paths ...string) (string, error) {
	v := ""
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		v += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return v, nil
}

// selfSigned makes a certificate for the Service's names and loopback, valid
// for a year; the APIService then needs insecureSkipTLSVerify.
func selfSigned(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "wva-external-metrics"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", "external-metrics"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
