package harness

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
)

// A Deployment counts as rolled out only when every replica of its current
// generation is updated, ready and available.
func TestRolledOut(t *testing.T) {
	done := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}
	cases := map[string]struct {
		replicas *int32
		status   func(*appsv1.DeploymentStatus)
		want     bool
	}{
		"all ready":                {replicas: ptr.To[int32](2), want: true},
		"one pod not ready":        {replicas: ptr.To[int32](2), status: func(s *appsv1.DeploymentStatus) { s.ReadyReplicas = 1 }},
		"one pod not available":    {replicas: ptr.To[int32](2), status: func(s *appsv1.DeploymentStatus) { s.AvailableReplicas = 1 }},
		"old generation observed":  {replicas: ptr.To[int32](2), status: func(s *appsv1.DeploymentStatus) { s.ObservedGeneration = 1 }},
		"an old pod still counted": {replicas: ptr.To[int32](2), status: func(s *appsv1.DeploymentStatus) { s.Replicas = 3 }},
		"spec scaled above status": {replicas: ptr.To[int32](3)},
		"nil replicas means one": {status: func(s *appsv1.DeploymentStatus) {
			*s = appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
		}, want: true},
		"nil replicas, two running": {},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			d := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: tc.replicas}, Status: done}
			d.Generation = 2
			if tc.status != nil {
				tc.status(&d.Status)
			}
			if got := rolledOut(d); got != tc.want {
				t.Errorf("rolledOut = %v, want %v (spec %v, status %+v)", got, tc.want, tc.replicas, d.Status)
			}
		})
	}
}

// The pools hold every pod the model's Deployments ask for, with the spare
// GPUs, in whole nodes; each Deployment's pods request its VA's accelerators.
func TestNodePoolsHoldEveryPod(t *testing.T) {
	cases := map[string]struct {
		shape     Shape
		wantPods  int
		wantPools []cluster.NodePool
	}{
		"8 VAs, 1 and 2 replicas alternately": {
			// Groups 0 (H100, A100) and 1 (A100, L40S); VA index 0,1 use 1
			// accelerator, index 2,3 use 2; replicas 1,2,1,2,...
			shape:    Shape{N: 8},
			wantPods: 12,
			wantPools: []cluster.NodePool{
				{Accelerator: "H100", Nodes: 1, GPUsPerNode: 8},
				{Accelerator: "A100", Nodes: 2, GPUsPerNode: 8},
				{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
			},
		},
		"8 VAs, one replica each": {
			shape:    Shape{N: 8, Replicas: 1},
			wantPods: 8,
			wantPools: []cluster.NodePool{
				{Accelerator: "H100", Nodes: 1, GPUsPerNode: 8},
				{Accelerator: "A100", Nodes: 1, GPUsPerNode: 8},
				{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			m, err := NewModel(tc.shape, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Pods(); got != tc.wantPods {
				t.Errorf("Pods() = %d, want %d", got, tc.wantPods)
			}
			pools := m.NodePools(8, 0.1)
			if diff := cmp.Diff(tc.wantPools, pools); diff != "" {
				t.Errorf("NodePools (-want +got):\n%s", diff)
			}
			gpus := m.GPUs()
			for _, p := range pools {
				if have := p.Nodes * p.GPUsPerNode; float64(have) < 1.1*float64(gpus[p.Accelerator]) {
					t.Errorf("pool %s offers %d GPUs, the pods need %d plus 10%%", p.Accelerator, have, gpus[p.Accelerator])
				}
			}
			for _, va := range m.VAs {
				d := m.Deployment(va)
				a := cluster.AcceleratorOf(va.Obj.Spec.Accelerator)
				req := d.Spec.Template.Spec.Containers[0].Resources.Requests[a.Resource]
				if req.Value() != int64(va.Obj.Spec.AcceleratorCount) || d.Spec.Template.Spec.NodeSelector[a.ProductLabel] != a.Product {
					t.Errorf("%s: pods request %s of %s on %v, want %d on %s=%s", va.Name, req.String(), a.Resource,
						d.Spec.Template.Spec.NodeSelector, va.Obj.Spec.AcceleratorCount, a.ProductLabel, a.Product)
				}
			}
		})
	}
}
