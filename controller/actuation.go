package controller

import (
	"context"
	"fmt"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Actuation says how desired replicas reach the workloads.
type Actuation string

const (
	// ActuationMetrics publishes wva_desired_replicas for an HPA or KEDA.
	ActuationMetrics Actuation = "metrics"
	// ActuationScale patches the target's /scale subresource.
	ActuationScale Actuation = "scale"
)

// publish sets the series of a planned, actuated VA.
func (m *Metrics) publish(s VariantSeries, desired, current int32) {
	m.DesiredReplicas.Set(s, float64(desired))
	m.CurrentReplicas.Set(s, float64(current))
	ratio := float64(desired)
	if current > 0 {
		ratio /= float64(current)
	}
	m.DesiredRatio.Set(s, ratio)
}

// publishPlan sets the cost and per-replica capacity series of a planned VA,
// for dashboards (load against capacity, cost per hour).
func (m *Metrics) publishPlan(s VariantSeries, costPerHour, capacity float64) {
	m.DesiredCost.Set(s, costPerHour)
	m.ReplicaCapacity.Set(s, capacity)
}

// unpublish removes every per-variant series of s.
func (m *Metrics) unpublish(s VariantSeries) { m.variants.clear(s, -1) }

// scaleTarget sets the target's replicas through its /scale subresource.
func scaleTarget(ctx context.Context, c client.SubResourceClientConstructor, va *llmdv1alpha1.VariantAutoscaling, replicas int32) error {
	obj, err := modelgroup.TargetObject(va)
	if err != nil {
		return err
	}
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas))
	if err := c.SubResource("scale").Patch(ctx, obj, patch, client.WithSubResourceBody(scale)); err != nil {
		return fmt.Errorf("scaling %s %s/%s to %d: %w", va.Spec.ScaleTargetRef.Kind, va.Namespace, va.Spec.ScaleTargetRef.Name, replicas, err)
	}
	return nil
}

// newActuationClient returns a client for /scale patches with rate limiters
// of its own (same QPS and burst as the manager's), so that a group's
// actuation never queues behind status writes in the manager's client. It
// shares the manager's connections and mapper.
func newActuationClient(mgr manager.Manager) (client.Client, error) {
	cfg := rest.CopyConfig(mgr.GetConfig())
	cfg.RateLimiter = nil
	c, err := client.New(cfg, client.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), HTTPClient: mgr.GetHTTPClient()})
	if err != nil {
		return nil, fmt.Errorf("building the actuation client: %w", err)
	}
	return c, nil
}
