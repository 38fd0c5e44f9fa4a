package framework

import (
	"context"
	"fmt"
	"maps"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// ConfigNamespace is where tests keep the operator's ConfigMaps.
const ConfigNamespace = config.DefaultNamespace

// ServiceClass renders one service-classes-config entry (see builders.ServiceClass).
func ServiceClass(name string, priority int, ttft, itl float64, models ...string) string {
	return builders.ServiceClass(name, priority, ttft, itl, models...)
}

// UnitCost renders one accelerator-unit-costs entry (see builders.UnitCost).
func UnitCost(device string, cost float64) string { return builders.UnitCost(device, cost) }

// ApplyConfigMap creates or replaces a ConfigMap of the operator.
func ApplyConfigMap(ctx context.Context, c client.Client, name string, data map[string]string) error {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ConfigNamespace}, Data: data}
	err := c.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		var cur corev1.ConfigMap
		if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &cur); err != nil {
			return err
		}
		cur.Data = data
		return c.Update(ctx, &cur)
	}
	return err
}

// PatchConfigMapKey sets one key of an operator ConfigMap.
func PatchConfigMapKey(ctx context.Context, c client.Client, name, key, value string) error {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKey{Namespace: ConfigNamespace, Name: name}, &cm); err != nil {
		return err
	}
	patch := client.MergeFrom(cm.DeepCopy())
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[key] = value
	return c.Patch(ctx, &cm, patch)
}

// ApplyConfigMaps creates the config namespace and creates or replaces each
// ConfigMap (name to data), in name order.
func ApplyConfigMaps(ctx context.Context, c client.Client, configMaps map[string]map[string]string) error {
	if err := CreateNamespace(ctx, c, ConfigNamespace); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(configMaps)) {
		if err := ApplyConfigMap(ctx, c, name, configMaps[name]); err != nil {
			return fmt.Errorf("applying ConfigMap %s: %w", name, err)
		}
	}
	return nil
}
