package loadsource

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// CacheAtZero answers GatewayOptions.AtZero from the manager's cache: a
// group is at zero when it has VAs and every VA's target is set to zero
// replicas (a Deployment's spec.replicas; for other kinds the VA's last
// desired replicas, as their /scale is not cached). One indexed List and a
// cached Get per VA of the group; never a call to the API server.
func CacheAtZero(cache client.Reader) func(ctx context.Context, key modelgroup.Key) (bool, error) {
	return func(ctx context.Context, key modelgroup.Key) (bool, error) {
		var list llmdv1alpha1.VariantAutoscalingList
		if err := cache.List(ctx, &list, client.InNamespace(key.Namespace),
			client.MatchingFields{indexer.VAModelIDKey: key.ModelID}); err != nil {
			return false, fmt.Errorf("listing the VAs of %s: %w", key, err)
		}
		if len(list.Items) == 0 {
			return false, nil
		}
		for i := range list.Items {
			va := &list.Items[i]
			if !modelgroup.IsDeployment(va.Spec.ScaleTargetRef) {
				if va.Status.DesiredReplicas == nil || *va.Status.DesiredReplicas > 0 {
					return false, nil
				}
				continue
			}
			var d appsv1.Deployment
			err := cache.Get(ctx, client.ObjectKey{Namespace: va.Namespace, Name: va.Spec.ScaleTargetRef.Name}, &d)
			switch {
			case apierrors.IsNotFound(err):
				continue // no workload: nothing to wake
			case err != nil:
				return false, fmt.Errorf("reading the target of %s/%s: %w", va.Namespace, va.Name, err)
			case d.Spec.Replicas == nil || *d.Spec.Replicas > 0:
				return false, nil
			}
		}
		return true, nil
	}
}

// DiscoverServices finds endpoint pickers from their Services
// (GATEWAY_EPP_SERVICE_SELECTOR, in every namespace the reader sees): the
// port named "metrics", else GATEWAY_EPP_METRICS_PORT; the Service's
// namespace is the namespace of the models behind it.
func DiscoverServices(reader client.Reader) func(ctx context.Context, gw config.GatewayConfig) ([]config.GatewayEndpoint, error) {
	return func(ctx context.Context, gw config.GatewayConfig) ([]config.GatewayEndpoint, error) {
		sel, err := labels.Parse(gw.ServiceSelector)
		if err != nil {
			return nil, err
		}
		var list corev1.ServiceList
		if err := reader.List(ctx, &list, client.MatchingLabelsSelector{Selector: sel}); err != nil {
			return nil, fmt.Errorf("listing Services: %w", err)
		}
		out := make([]config.GatewayEndpoint, 0, len(list.Items))
		for i := range list.Items {
			svc := &list.Items[i]
			port := gw.MetricsPort
			if port == 0 {
				port = config.DefaultGatewayConfig().MetricsPort
			}
			for _, p := range svc.Spec.Ports {
				if p.Name == "metrics" {
					port = int(p.Port)
				}
			}
			out = append(out, config.GatewayEndpoint{Namespace: svc.Namespace, URL: gw.ServiceURL(svc.Namespace, svc.Name, port)})
		}
		return out, nil
	}
}
