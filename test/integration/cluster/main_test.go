// Package cluster proves the local cluster of internal/cluster: workloads'
// pods are scheduled onto the node pool of their accelerator, become Ready
// after the start-up delay kwok plays, and stay Pending when the pool is
// full.
package cluster

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// podStartDelay is long enough to observe pods scheduled but not Ready, and
// short enough for a quick test.
const podStartDelay = 3 * time.Second

var (
	env       *framework.Env
	workloads *cluster.Workloads
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "va-cluster-")
	if err != nil {
		panic(err)
	}
	flags, err := cluster.WorkloadAPIServerFlags(dir)
	if err != nil {
		panic(err)
	}
	framework.Main(m, framework.Options{APIServerFlags: flags}, func(e *framework.Env) (func() error, error) {
		env = e
		assets, err := framework.AssetsDir()
		if err != nil {
			return nil, err
		}
		workloads, err = cluster.StartWorkloads(context.Background(), assets, dir, e.Kubeconfig, e.Client, cluster.WorkloadOptions{
			Pools: []cluster.NodePool{
				{Accelerator: "H100", Nodes: 1, GPUsPerNode: 8},
				{Accelerator: "A100", Nodes: 2, GPUsPerNode: 4},
				{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
				{Accelerator: "MI300X", Nodes: 1, GPUsPerNode: 8},
			},
			PodStartDelay: podStartDelay,
			HPASyncPeriod: time.Second,
		})
		if err != nil {
			return nil, err
		}
		return func() error {
			err := workloads.Stop()
			if os.Getenv("VA_KEEP_LOGS") == "" {
				_ = os.RemoveAll(dir)
			}
			return err
		}, nil
	})
}
