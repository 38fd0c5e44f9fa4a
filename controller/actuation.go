package controller

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
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

// seriesLabels returns the label values of a VA's per-variant series.
func seriesLabels(va *llmdv1alpha1.VariantAutoscaling) prometheus.Labels {
	return prometheus.Labels{
		"namespace": va.Namespace, "variant_name": va.Name,
		"target_kind": va.Spec.ScaleTargetRef.Kind, "target_name": va.Spec.ScaleTargetRef.Name,
		"accelerator_type": va.Spec.Accelerator, "model_name": va.Spec.ModelID,
	}
}

// publish sets the series of a planned, actuated VA.
func (m *Metrics) publish(va *llmdv1alpha1.VariantAutoscaling, desired, current int32) {
	l := seriesLabels(va)
	m.DesiredReplicas.With(l).Set(float64(desired))
	m.CurrentReplicas.With(l).Set(float64(current))
	ratio := float64(desired)
	if current > 0 {
		ratio /= float64(current)
	}
	m.DesiredRatio.With(l).Set(ratio)
}

// publishPlan sets the cost and per-replica capacity series of a planned VA,
// for dashboards (load against capacity, cost per hour).
func (m *Metrics) publishPlan(va *llmdv1alpha1.VariantAutoscaling, costPerHour, capacity float64) {
	l := seriesLabels(va)
	m.DesiredCost.With(l).Set(costPerHour)
	m.ReplicaCapacity.With(l).Set(capacity)
}

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
