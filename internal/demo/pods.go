package demo

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
)

// podCount is what the pods of one workload are doing.
type podCount struct {
	// Ready pods serve; Starting ones are on a node, loading the model;
	// Pending ones found no node with free GPUs of their type.
	Ready, Starting, Pending int32
}

// podCounts counts the pods of each workload of the namespace (by the "app"
// label the demo's Deployments give their pods).
func podCounts(ctx context.Context, c client.Reader, namespace string) (map[string]podCount, error) {
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	out := map[string]podCount{}
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil {
			continue
		}
		app := p.Labels["app"]
		pc := out[app]
		switch {
		case p.Spec.NodeName == "":
			pc.Pending++
		case podReady(p):
			pc.Ready++
		default:
			pc.Starting++
		}
		out[app] = pc
	}
	return out, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// poolLine renders the free GPUs of each node pool, e.g.
// "GPUs free: A100 4/16  H100 0/16  L40S 6/8".
func poolLine(usage []cluster.PoolUsage) string {
	parts := make([]string, 0, len(usage))
	for _, u := range usage {
		parts = append(parts, fmt.Sprintf("%s %d/%d", u.Accelerator, u.Free(), u.Allocatable))
	}
	return "GPUs free: " + strings.Join(parts, "  ")
}
