package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// KubeControllers are the kube-controller-manager controllers the local
// cluster runs: Deployments make ReplicaSets, ReplicaSets make Pods, the HPA
// applies external metrics, the garbage collector removes what an owner
// leaves behind. Node lifecycle, service accounts, endpoints and the rest are
// left out: kwok's nodes need none of them.
var KubeControllers = []string{"deployment", "replicaset", "horizontalpodautoscaling", "garbagecollector"}

// startControllerManager starts kube-controller-manager with KubeControllers,
// the HPA sync period, the workers and the client limits of opts (defaults applied),
// serving its health check on loopback only.
func startControllerManager(ctx context.Context, bin, dir, kubeconfig string, opts WorkloadOptions) (*process, error) {
	args := append([]string{
		"--controllers", joinComma(KubeControllers),
		"--horizontal-pod-autoscaler-sync-period", opts.HPASyncPeriod.String(),
		"--use-service-account-credentials=false",
		"--concurrent-deployment-syncs=" + itoa(opts.ConcurrentSyncs),
		"--concurrent-replicaset-syncs=" + itoa(opts.ConcurrentSyncs),
		"--concurrent-horizontal-pod-autoscaler-syncs=" + itoa(opts.ConcurrentSyncs),
	}, clientFlags(opts)...)
	return startComponent(ctx, "kube-controller-manager", bin, dir, kubeconfig, args...)
}

// startScheduler starts kube-scheduler, which places pods on the fake nodes
// by nodeSelector and GPUResource requests, and leaves them Pending when no
// node fits.
func startScheduler(ctx context.Context, bin, dir, kubeconfig string, opts WorkloadOptions) (*process, error) {
	return startComponent(ctx, "kube-scheduler", bin, dir, kubeconfig, clientFlags(opts)...)
}

// clientFlags are a component's client QPS and burst.
func clientFlags(opts WorkloadOptions) []string {
	return []string{
		"--kube-api-qps=" + strconv.FormatFloat(float64(opts.ClientQPS), 'g', -1, 32),
		"--kube-api-burst=" + itoa(opts.ClientBurst),
	}
}

// startComponent starts a control-plane component with the admin kubeconfig
// and its HTTPS health endpoint on a free loopback port, and waits for
// /healthz.
func startComponent(ctx context.Context, name, bin, dir, kubeconfig string, extra ...string) (*process, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	certDir := filepath.Join(dir, name+"-certs")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", certDir, err)
	}
	args := append([]string{
		"--kubeconfig", kubeconfig,
		"--authentication-kubeconfig", kubeconfig,
		"--authorization-kubeconfig", kubeconfig,
		"--leader-elect=false",
		"--bind-address", "127.0.0.1",
		"--secure-port", itoa(port),
		"--cert-dir", certDir,
	}, extra...)
	p, err := startProcess(name, bin, dir, args...)
	if err != nil {
		return nil, err
	}
	// The component's serving certificate is self-signed; only its health is
	// read here, never data.
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback health check of a self-signed server
	healthz := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	if err := p.waitUntil(ctx, 2*time.Minute, func(ctx context.Context) error { return httpOK(ctx, insecure, healthz) }); err != nil {
		return nil, fmt.Errorf("%w (and stopping it: %v)", err, p.stop(5*time.Second))
	}
	return p, nil
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
