//go:build linux

package e2e

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// The workloads of these tests run on the real controllers: the deployment
// and replicaset controllers of kube-controller-manager make the pods,
// kube-scheduler binds them to kwok's fake GPU nodes, kwok marks them Ready
// podStartDelay later. The emulator serves a model with as many pods as its
// Deployments report ready, as a model's serving capacity is its ready pods.

// podStartDelay is how long a scheduled pod takes to become Ready (the
// model loading). The scale-from-zero cases time the wait of a request
// queued at the gateway against it; the other cases only see their new pods
// serve a few seconds after a scale-up.
const podStartDelay = 5 * time.Second

// workloadOptions size the node pools for every test of the package at
// once: the scenario's 65 extra groups start with a pod on each of H100,
// A100 and L40S and keep one on L40S afterwards, while the scale-from-zero
// cases wake 20 more models on L40S.
func workloadOptions() *cluster.WorkloadOptions {
	return &cluster.WorkloadOptions{
		Pools: []cluster.NodePool{
			{Accelerator: "H100", Nodes: 12, GPUsPerNode: 8},
			{Accelerator: "A100", Nodes: 9, GPUsPerNode: 8},
			{Accelerator: "L40S", Nodes: 16, GPUsPerNode: 8},
		},
		PodStartDelay: podStartDelay,
	}
}

// modelLabel on a test Deployment names the model its pods serve.
const modelLabel = "e2e.llmd.ai/model"

// modelIndex indexes the Deployments by "namespace/model".
const modelIndex = "e2e.model"

// gpuDeployment is a variant's workload: pods of one GPU of the accelerator
// each, selecting that pool, labelled with the model they serve.
func gpuDeployment(name, ns, model, accelerator string, replicas int32) *appsv1.Deployment {
	d := cluster.GPUDeployment(name, ns, accelerator, 1, replicas)
	// The builder shares one map between the labels and the selector.
	d.Labels = maps.Clone(d.Labels)
	d.Labels[modelLabel] = model
	return d
}

// readyPods reads the ready replicas the Deployment controller reports, per
// model, from an informer.
type readyPods struct {
	cache cache.Cache
}

// startReadyPods starts the informer of Deployments and waits for its sync.
func startReadyPods(ctx context.Context) (*readyPods, error) {
	c, err := cache.New(env.Config, cache.Options{Scheme: framework.Scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the Deployment cache: %w", err)
	}
	if err := c.IndexField(ctx, &appsv1.Deployment{}, modelIndex, func(o client.Object) []string {
		m, ok := o.GetLabels()[modelLabel]
		if !ok {
			return nil
		}
		return []string{o.GetNamespace() + "/" + m}
	}); err != nil {
		return nil, fmt.Errorf("indexing Deployments by model: %w", err)
	}
	go func() { _ = c.Start(ctx) }()
	if !c.WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("the Deployment cache did not sync")
	}
	return &readyPods{cache: c}, nil
}

// source is the emulator's replica source: the sum of status.readyReplicas
// of the model's Deployments; ok is false while it has none.
func (r *readyPods) source(namespace, model string) (int, bool) {
	var list appsv1.DeploymentList
	if err := r.cache.List(context.Background(), &list, client.MatchingFields{modelIndex: namespace + "/" + model}); err != nil || len(list.Items) == 0 {
		return 0, false
	}
	n := 0
	for i := range list.Items {
		n += int(list.Items[i].Status.ReadyReplicas)
	}
	return n, true
}

// expectPodsScheduled waits until every pod of the cluster is bound to a
// node (none Pending for want of GPUs: the pools fit the tests), and logs
// the pools' GPUs in use.
func expectPodsScheduled(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	NewWithT(t).Eventually(func(g Gomega) []string {
		var pods corev1.PodList
		g.Expect(env.Client.List(ctx, &pods)).To(Succeed())
		var pending []string
		for i := range pods.Items {
			if p := &pods.Items[i]; p.Spec.NodeName == "" && p.DeletionTimestamp == nil {
				pending = append(pending, p.Namespace+"/"+p.Name)
			}
		}
		return pending
	}).WithTimeout(timeout).WithPolling(poll).Should(BeEmpty(), "pods left Pending: the node pools are too small")
	usage, err := cluster.Usage(ctx, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range usage {
		t.Logf("pool %s: %d of %d GPUs in use", u.Accelerator, u.Used, u.Allocatable)
	}
}
