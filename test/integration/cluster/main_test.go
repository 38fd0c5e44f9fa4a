// Package cluster proves the local cluster of internal/cluster: workloads'
// pods are scheduled onto the node pool of their accelerator, become Ready
// after the start-up delay kwok plays, and stay Pending when the pool is
// full.
package cluster

import (
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// podStartDelay is long enough to tell scheduled from Ready, and short
// enough for a quick test.
const podStartDelay = 3 * time.Second

var env *framework.Env

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{Workloads: &cluster.WorkloadOptions{
		Pools: []cluster.NodePool{
			{Accelerator: "H100", Nodes: 1, GPUsPerNode: 8},
			{Accelerator: "A100", Nodes: 2, GPUsPerNode: 4},
			{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
			{Accelerator: "MI300X", Nodes: 1, GPUsPerNode: 8},
		},
		PodStartDelay: podStartDelay,
		HPASyncPeriod: time.Second,
	}}, func(e *framework.Env) (func() error, error) {
		env = e
		return nil, nil
	})
}
