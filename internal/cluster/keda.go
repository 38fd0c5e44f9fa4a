package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// KEDA is the KEDA operator and its external-metrics adapter, built from
// source by hack/cluster/keda, running against a local control plane. The
// adapter registers as external.metrics.k8s.io, so a cluster runs either KEDA
// or the operator's own external-metrics endpoint, never both.
type KEDA struct {
	procs processes
}

// kedaNamespace is where KEDA keeps its cluster-wide objects.
const kedaNamespace = "keda"

// KEDACRDDir is the folder of KEDA's CRDs in the Go module cache, at the
// version hack/cluster/keda builds (make envtest-bins downloads it).
func KEDACRDDir() (string, error) {
	mod, err := os.ReadFile(filepath.Join(RepoRoot(), "hack", "cluster", "keda", "go.mod"))
	if err != nil {
		return "", fmt.Errorf("reading the KEDA tools module: %w", err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/kedacore/keda/v2 (v\S+)`).FindSubmatch(mod)
	if m == nil {
		return "", errors.New("hack/cluster/keda/go.mod requires no github.com/kedacore/keda/v2")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMODCACHE: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "kedacore", "keda", "v2@"+string(m[1]), "config", "crd", "bases")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("KEDA's CRDs are not in the module cache (run `make envtest-bins`, which builds KEDA): %w", err)
	}
	return dir, nil
}

// onlyLoopback fails when this process can reach a network interface other
// than loopback. KEDA's adapter serves its own /metrics on every interface
// (it has no flag to bind it), so it may run only where every interface is
// loopback: a network namespace of its own (see test/framework.IsolateNetwork).
func onlyLoopback() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("listing network interfaces: %w", err)
	}
	for _, i := range ifaces {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			return fmt.Errorf("interface %s is up: KEDA's metrics adapter listens on every interface, so it runs only in a network namespace whose one interface is loopback", i.Name)
		}
	}
	return nil
}

// StartKEDA installs KEDA's CRDs, starts the KEDA operator and its adapter
// with every configurable listener on loopback and mutual TLS between them,
// and registers the adapter as the cluster's external-metrics API. It needs
// Options.Workloads (the aggregation layer and the HPA controller).
func (c *ControlPlane) StartKEDA(ctx context.Context) (*KEDA, error) {
	if c.Workloads == nil {
		return nil, errors.New("KEDA needs the workload controllers and the aggregation layer: start the control plane with Options.Workloads")
	}
	if err := onlyLoopback(); err != nil {
		return nil, err
	}
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	for _, bin := range []string{"keda-operator", "keda-adapter"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s has no %s: run `make envtest-bins`: %w", assets, bin, err)
		}
	}
	crds, err := KEDACRDDir()
	if err != nil {
		return nil, err
	}
	if out, err := c.Kubectl(ctx, "", "apply", "--server-side", "-f", crds); err != nil {
		return nil, fmt.Errorf("installing KEDA's CRDs: %w\n%s", err, out)
	}
	if out, err := c.Kubectl(ctx, "", "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		return nil, fmt.Errorf("waiting for KEDA's CRDs: %w\n%s", err, out)
	}
	if out, err := c.Kubectl(ctx, "", "create", "namespace", kedaNamespace); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return nil, fmt.Errorf("creating namespace %s: %w\n%s", kedaNamespace, err, out)
	}
	certDir := filepath.Join(c.Dir, "keda-certs")
	if err := writeKEDACerts(certDir); err != nil {
		return nil, err
	}
	k := &KEDA{}
	grpcAddr, err := k.startOperator(ctx, filepath.Join(assets, "keda-operator"), c.Dir, c.Kubeconfig, certDir)
	if err != nil {
		return nil, err
	}
	port, err := k.startAdapter(ctx, filepath.Join(assets, "keda-adapter"), c.Dir, c.Kubeconfig, certDir, grpcAddr)
	if err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	if err := RegisterLoopbackAPIService(ctx, c.Client, "external.metrics.k8s.io", "v1beta1", kedaNamespace, "keda-metrics-apiserver", int32(port)); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	adapter := k.procs[len(k.procs)-1]
	if err := adapter.waitUntil(ctx, 2*time.Minute, func(ctx context.Context) error {
		ok, msg, err := APIServiceAvailable(ctx, c.Client, ExternalMetricsAPIService)
		if err == nil && !ok {
			err = errors.New(msg)
		}
		return err
	}); err != nil {
		return nil, errors.Join(err, k.Stop())
	}
	return k, nil
}

// writeKEDACerts writes the CA and the one certificate the operator's gRPC
// metrics service and the adapter share (KEDA's mutual TLS reads ca.crt,
// tls.crt and tls.key from one folder), valid for loopback.
func writeKEDACerts(dir string) error {
	ca, err := newCertAuthority("keda-ca")
	if err != nil {
		return err
	}
	cert, key, err := ca.issue("keda", x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return err
	}
	return writeFiles(dir, map[string][]byte{"ca.crt": ca.pem, "tls.crt": cert, "tls.key": key})
}

// kedaEnv is the environment both KEDA binaries read their namespace from.
var kedaEnv = []string{"POD_NAMESPACE=" + kedaNamespace, "KEDA_CLUSTER_OBJECT_NAMESPACE=" + kedaNamespace, "WATCH_NAMESPACE="}

// startOperator starts the KEDA operator and returns the address of its gRPC
// metrics service, which the adapter asks for each metric value.
func (k *KEDA) startOperator(ctx context.Context, bin, dir, kubeconfig, certDir string) (string, error) {
	ports, err := freeLoopbackPorts(3)
	if err != nil {
		return "", err
	}
	caDir := filepath.Join(dir, "keda-custom-ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return "", fmt.Errorf("creating %s: %w", caDir, err)
	}
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	p, err := startProcessEnv("keda-operator", bin, dir, kedaEnv,
		"--kubeconfig", kubeconfig,
		"--metrics-service-bind-address", grpcAddr,
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", ports[2]),
		"--cert-dir", certDir,
		"--ca-dir", caDir,
		"--enable-cert-rotation=false",
		"--leader-elect=false",
		"--zap-encoder=console",
	)
	if err != nil {
		return "", err
	}
	k.procs = append(k.procs, p)
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2])
	if err := p.waitUntil(ctx, 2*time.Minute, func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, readyz) }); err != nil {
		return "", errors.Join(err, k.Stop())
	}
	return grpcAddr, nil
}

// startAdapter starts KEDA's external-metrics adapter serving HTTPS on
// loopback and returns its port. Its own /metrics listens on every interface
// of this network namespace (see onlyLoopback).
func (k *KEDA) startAdapter(ctx context.Context, bin, dir, kubeconfig, certDir, grpcAddr string) (int, error) {
	ports, err := freeLoopbackPorts(2)
	if err != nil {
		return 0, err
	}
	// Its provider reads the kubeconfig from the environment only.
	p, err := startProcessEnv("keda-adapter", bin, dir, append(kedaEnv, "KUBECONFIG="+kubeconfig),
		"--lister-kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--bind-address", "127.0.0.1",
		"--secure-port", itoa(ports[0]),
		"--cert-dir", certDir,
		"--tls-cert-file", filepath.Join(certDir, "tls.crt"),
		"--tls-private-key-file", filepath.Join(certDir, "tls.key"),
		"--metrics-service-address", grpcAddr,
		"--port", itoa(ports[1]),
		"--profiling=false",
		"--zap-encoder=console",
	)
	if err != nil {
		return 0, err
	}
	k.procs = append(k.procs, p)
	// The serving certificate is the test CA's; only health is read here.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback health check
	healthz := fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0])
	if err := p.waitUntil(ctx, 2*time.Minute, func(ctx context.Context) error { return httpOK(ctx, insecure, healthz) }); err != nil {
		return 0, err
	}
	return ports[0], nil
}

// Failed returns an error naming every KEDA component that has exited.
func (k *KEDA) Failed() error { return k.procs.failed() }

// Stop stops the adapter, then the operator.
func (k *KEDA) Stop() error {
	if k == nil {
		return nil
	}
	return k.procs.stop()
}

// freeLoopbackPorts returns n distinct free ports on 127.0.0.1.
func freeLoopbackPorts(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		p, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}
