package harness

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

// createCluster creates the namespaces, the ConfigMaps, every Deployment
// and VA (with the setup client's high QPS, in parallel), the floor VAs,
// and waits for the simulator to bring every Deployment's status to its spec.
func (r *runner) createCluster(ctx context.Context) error {
	m := r.model
	for _, ns := range append([]string{framework.ConfigNamespace, FloorNamespace}, m.Namespaces...) {
		if err := framework.CreateNamespace(ctx, r.setup, ns); err != nil {
			return err
		}
	}
	for name, data := range m.ConfigMaps {
		if err := framework.ApplyConfigMap(ctx, r.setup, name, data); err != nil {
			return fmt.Errorf("creating ConfigMap %s: %w", name, err)
		}
	}
	sim := StartSimulator(ctx, r.setup, m.Namespaces, 16)

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

	bar = startProgress(r.opts.Progress, "simulating Deployment status", len(m.VAs))
	deadline := time.Now().Add(r.opts.Timebox)
	for sim.Synced() < len(m.VAs) {
		bar.set(sim.Synced())
		if time.Now().After(deadline) {
			bar.end()
			return fmt.Errorf("the workload simulator synced %d of %d Deployments within %s", sim.Synced(), len(m.VAs), r.opts.Timebox)
		}
		sleep(ctx, 100*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	bar.set(sim.Synced())
	bar.end()
	return nil
}
