package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WorkloadOptions size the parts of the cluster that run workloads: the
// controllers, the scheduler and kwok's fake GPU nodes.
type WorkloadOptions struct {
	// Pools are the fake GPU node pools; nil means DefaultPools.
	Pools []NodePool
	// PodStartDelay is how long a scheduled pod takes to become Ready (model
	// loading); 0 means at once.
	PodStartDelay time.Duration
	// HPASyncPeriod is how often the HPA controller evaluates each HPA; 0
	// means 15 s, Kubernetes' default.
	HPASyncPeriod time.Duration
	// ClientQPS and ClientBurst of kube-controller-manager and kube-scheduler;
	// 0 means 200 and 400. The load harness raises them: at 10,000
	// Deployments the controllers' writes are bounded by these limiters.
	ClientQPS   float32
	ClientBurst int
	// ConcurrentSyncs is kube-controller-manager's workers per controller
	// (deployment, replicaset, HPA); 0 means 10. Each sync waits for the API
	// server, so on a busy machine the workers, not the CPU, bound how fast
	// thousands of Deployments roll out.
	ConcurrentSyncs int
}

// Workloads is kube-controller-manager, kube-scheduler and kwok running
// against a control plane, with the node pools created.
type Workloads struct {
	Options WorkloadOptions
	procs   processes
}

// WorkloadAPIServerFlags are the kube-apiserver flags the workload parts
// need, to merge into the control plane's flags before it starts: the
// aggregation layer (certificates written into dir), and no admission of the
// not-ready taint on new nodes, which only the node lifecycle controller
// (not run here) would remove again.
func WorkloadAPIServerFlags(dir string) (map[string]string, error) {
	flags, err := aggregationFlags(dir)
	if err != nil {
		return nil, err
	}
	flags["disable-admission-plugins"] = "ServiceAccount,TaintNodesByCondition"
	return flags, nil
}

// StartWorkloads starts kube-controller-manager, kube-scheduler and kwok from
// the assets folder against the cluster of kubeconfig, and creates the node
// pools with c. The processes log into dir.
func StartWorkloads(ctx context.Context, assets, dir, kubeconfig string, c client.Client, opts WorkloadOptions) (*Workloads, error) {
	if opts.Pools == nil {
		opts.Pools = DefaultPools()
	}
	if opts.HPASyncPeriod == 0 {
		opts.HPASyncPeriod = 15 * time.Second
	}
	if opts.ClientQPS == 0 {
		opts.ClientQPS, opts.ClientBurst = 200, 400
	}
	if opts.ConcurrentSyncs <= 0 {
		opts.ConcurrentSyncs = 10
	}
	if opts.ClientBurst <= 0 {
		opts.ClientBurst = max(1, int(2*opts.ClientQPS))
	}
	for _, bin := range []string{"kube-controller-manager", "kube-scheduler", "kwok"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			return nil, fmt.Errorf("%s has no %s: run `make envtest-bins`: %w", assets, bin, err)
		}
	}
	w := &Workloads{Options: opts}
	kcm, err := startControllerManager(ctx, filepath.Join(assets, "kube-controller-manager"), dir, kubeconfig, opts)
	if err != nil {
		return nil, err
	}
	w.procs = append(w.procs, kcm)
	sched, err := startScheduler(ctx, filepath.Join(assets, "kube-scheduler"), dir, kubeconfig, opts)
	if err != nil {
		return nil, errors.Join(err, w.Stop())
	}
	w.procs = append(w.procs, sched)
	kwok, err := startKwok(ctx, filepath.Join(assets, "kwok"), dir, kubeconfig, opts.PodStartDelay)
	if err != nil {
		return nil, errors.Join(err, w.Stop())
	}
	w.procs = append(w.procs, kwok)
	if err := CreateNodes(ctx, c, opts.Pools); err != nil {
		return nil, errors.Join(err, w.Stop())
	}
	return w, nil
}

// Failed returns an error naming every component that has exited.
func (w *Workloads) Failed() error { return w.procs.failed() }

// Stop stops the components in reverse order of start.
func (w *Workloads) Stop() error {
	if w == nil {
		return nil
	}
	return w.procs.stop()
}
