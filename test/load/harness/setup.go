package harness

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// startControlPlane starts the API server with kube-controller-manager,
// kube-scheduler and kwok, with node pools that hold every pod of the model.
func (r *runner) startControlPlane() error {
	pools := r.model.NodePools(r.opts.GPUsPerNode, r.opts.NodeSpare)
	w := &r.result.Workloads
	w.ReplicasPerVA, w.Pods, w.GPUsPerNode = r.model.Shape.Replicas, r.model.Pods(), r.opts.GPUsPerNode
	w.ControllerQPS, w.ControllerSyncs = r.opts.ControllerQPS, r.opts.ControllerSyncs
	for _, n := range r.model.GPUs() {
		w.GPUs += n
	}
	for _, p := range pools {
		w.Nodes += p.Nodes
	}
	r.logf("  kube-controller-manager, kube-scheduler and kwok: %d pods (%d GPUs) to place on %d nodes of %d GPUs",
		w.Pods, w.GPUs, w.Nodes, w.GPUsPerNode)
	var err error
	r.env, err = framework.Start(framework.Options{
		APIServerFlags: r.opts.APIServerFlags,
		// The admin client creates the nodes.
		ClientQPS: 1000, ClientBurst: 2000,
		Workloads: &cluster.WorkloadOptions{
			Pools:       pools,
			ClientQPS:   r.opts.ControllerQPS,
			ClientBurst: int(2 * r.opts.ControllerQPS),
			// 10 workers roll out about 12 Deployments a second here.
			ConcurrentSyncs: r.opts.ControllerSyncs,
		},
	})
	return err
}

// createCluster creates the namespaces, the ConfigMaps, every Deployment
// and VA (with the setup client's high QPS, in parallel), the floor VAs,
// and waits until kube-controller-manager reports every Deployment rolled
// out: its ReplicaSet made the pods, kube-scheduler bound them to kwok's GPU
// nodes and kwok marked them Ready.
func (r *runner) createCluster(ctx context.Context) error {
	m := r.model
	for _, ns := range append([]string{framework.ConfigNamespace, FloorNamespace}, m.Namespaces...) {
		if err := framework.CreateNamespace(ctx, r.setup, ns); err != nil {
			return err
		}
	}
	if err := framework.ApplyConfigMaps(ctx, r.setup, m.ConfigMaps); err != nil {
		return err
	}
	rollout := newRolloutWatcher(r.setup, m.Namespaces)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go rollout.run(watchCtx)
	created := time.Now()

	bar := startProgress(r.opts.Progress, "creating Deployments and VAs", 2*len(m.VAs))
	err := parallel(ctx, 32, len(m.VAs), func(i int) error {
		va := m.VAs[i]
		objs := []client.Object{m.Deployment(va), va.Obj.DeepCopy()}
		for _, o := range objs {
			if err := r.setup.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %T %s/%s: %w", o, o.GetNamespace(), o.GetName(), err)
			}
			bar.add(1)
		}
		return nil
	})
	bar.end()
	if err != nil {
		return err
	}

	if !r.opts.NoFloor {
		bar = startProgress(r.opts.Progress, "creating the write-floor VAs", r.opts.FloorVAs)
		floorClient, err := client.New(r.opCfg, client.Options{Scheme: framework.Scheme})
		if err != nil {
			return err
		}
		r.floor, err = newFloor(ctx, r.setup, floorClient, m, r.opts.FloorVAs, r.opts.Workers, bar)
		bar.end()
		if err != nil {
			return err
		}
	}

	return r.waitRollout(ctx, rollout, created)
}

// waitRollout waits, within the time box, until every Deployment is rolled
// out, and records how long that took from the first Deployment's creation.
func (r *runner) waitRollout(ctx context.Context, rollout *rolloutWatcher, created time.Time) error {
	m := r.model
	bar := startProgress(r.opts.Progress, "Deployments rolled out by kube-controller-manager", len(m.VAs))
	defer bar.end()
	deadline := time.Now().Add(r.opts.Timebox)
	for rollout.Ready() < len(m.VAs) {
		bar.set(rollout.Ready())
		if err := r.env.Workloads.Failed(); err != nil {
			return fmt.Errorf("a workload component exited while the Deployments rolled out: %w", err)
		}
		if time.Now().After(deadline) {
			return r.rolloutError(ctx, rollout)
		}
		sleep(ctx, 200*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	bar.set(rollout.Ready())
	r.result.Workloads.RolloutSeconds = time.Since(created).Seconds()
	return nil
}

// rolloutError says how far the rollout got and why a few Deployments are
// not there: their status, and the pods still Pending (a pool too small).
func (r *runner) rolloutError(ctx context.Context, rollout *rolloutWatcher) error {
	m := r.model
	var details []string
	for _, k := range rollout.notReady(vaKeys(m.VAs), 3) {
		details = append(details, describeDeployment(ctx, r.setup, k))
	}
	pending, err := pendingPods(ctx, r.setup, m.Namespaces)
	if err != nil {
		details = append(details, err.Error())
	} else {
		details = append(details, fmt.Sprintf("%d pods Pending", pending))
	}
	return fmt.Errorf("%d of %d Deployments were rolled out (every replica ready) within %s: %s",
		rollout.Ready(), len(m.VAs), r.opts.Timebox, strings.Join(details, "; "))
}

// pendingPods counts the pods of the namespaces that are Pending, a page at
// a time.
func pendingPods(ctx context.Context, c client.Client, namespaces []string) (int, error) {
	n := 0
	for _, ns := range namespaces {
		cont := ""
		for {
			var pods corev1.PodList
			if err := c.List(ctx, &pods, client.InNamespace(ns), client.Limit(500), client.Continue(cont)); err != nil {
				return n, fmt.Errorf("listing the pods of %s: %w", ns, err)
			}
			for i := range pods.Items {
				if pods.Items[i].Status.Phase == corev1.PodPending {
					n++
				}
			}
			if cont = pods.Continue; cont == "" {
				break
			}
		}
	}
	return n, nil
}

// waitWritesSettle waits until the API server has taken no write (its own
// housekeeping aside) for Quiet: kube-scheduler and kube-controller-manager
// post their Events asynchronously, after the rollout, and those must not be
// counted as the operator's first phase.
func (r *runner) waitWritesSettle(ctx context.Context) error {
	deadline := time.Now().Add(r.opts.Timebox)
	var last float64
	lastChange := time.Now()
	for first := true; ; first = false {
		s, err := r.scraper.scrape(ctx)
		if err != nil {
			return err
		}
		if w := s.Requests.Writes(); first || w != last {
			last, lastChange = w, time.Now()
		}
		if time.Since(lastChange) >= r.opts.Quiet {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API server still took writes %s after every Deployment rolled out", r.opts.Timebox)
		}
		sleep(ctx, 250*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
