package controller

import (
	"context"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	crrecorder "sigs.k8s.io/controller-runtime/pkg/recorder"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// ConfigWatcher applies ConfigMap changes to the store and enqueues only the
// groups the diff affects. An invalid ConfigMap keeps the last good config.
// What else must follow a change (the global pass's timer, the Prometheus
// connection) subscribes to the store.
type ConfigWatcher struct {
	Namespace string
	Store     *config.Store
	Cache     client.Reader
	Enqueuer  modelgroup.Enqueuer
	Recorder  crrecorder.EventRecorder
	Metrics   *Metrics

	// loaded records the ConfigMaps of which a version was applied since
	// the start (issue 12: see InvalidSinceStart).
	loadedMu sync.Mutex
	loaded   map[string]bool
}

// Watches reports whether a ConfigMap is one of the operator's.
func (w *ConfigWatcher) Watches(cm *corev1.ConfigMap) bool {
	return cm.Namespace == w.Namespace && config.IsConfigMapName(cm.Name)
}

// Apply parses one ConfigMap into the store and returns the groups it affects.
func (w *ConfigWatcher) Apply(ctx context.Context, cm *corev1.ConfigMap, deleted bool) []modelgroup.Key {
	change, ok := w.update(ctx, cm, deleted)
	if !ok || change.Empty() {
		return nil
	}
	keys, err := w.affectedGroups(ctx, change)
	if err != nil {
		log.FromContext(ctx).Error(err, "Finding the groups a config change affects", "configmap", cm.Name)
	}
	log.FromContext(ctx).Info("Configuration applied", "configmap", cm.Name, "groups", len(keys),
		"timers", change.Timers, "prometheus", change.Prometheus)
	return keys
}

// update parses one ConfigMap (deleted: revert to its defaults) into the
// store. An invalid one is reported and leaves the last good config in force.
func (w *ConfigWatcher) update(ctx context.Context, cm *corev1.ConfigMap, deleted bool) (config.Change, bool) {
	var change config.Change
	var err error
	if deleted {
		change, err = w.Store.Delete(cm.Name)
	} else {
		change, err = w.Store.Update(cm.Name, cm.Data)
	}
	if err != nil {
		w.Metrics.ConfigValid.WithLabelValues(cm.Name).Set(0)
		log.FromContext(ctx).Error(err, "Invalid ConfigMap; the last good configuration stays in force", "configmap", cm.Name)
		if w.Recorder != nil && !deleted {
			w.Recorder.Eventf(cm, nil, corev1.EventTypeWarning, EventConfigInvalid, "Validate",
				"%s", truncateMessage(fmt.Sprintf("not applied, the last good configuration stays in force: %v", err)))
		}
		return change, false
	}
	w.Metrics.ConfigValid.WithLabelValues(cm.Name).Set(1)
	if !deleted {
		w.markLoaded(cm.Name)
	}
	return change, true
}

// affectedGroups turns a change into group keys through the field indexes;
// only AllGroups lists every VA.
func (w *ConfigWatcher) affectedGroups(ctx context.Context, c config.Change) ([]modelgroup.Key, error) {
	seen := map[modelgroup.Key]struct{}{}
	var keys []modelgroup.Key
	collect := func(opts ...client.ListOption) error {
		var list llmdv1alpha1.VariantAutoscalingList
		if err := w.Cache.List(ctx, &list, opts...); err != nil {
			return fmt.Errorf("listing VAs: %w", err)
		}
		for i := range list.Items {
			k := modelgroup.KeyOf(&list.Items[i])
			if _, ok := seen[k]; !ok {
				seen[k] = struct{}{}
				keys = append(keys, k)
			}
		}
		return nil
	}
	if c.AllGroups {
		return keys, collect()
	}
	for _, a := range c.Accelerators {
		if err := collect(client.MatchingFields{indexer.VAAcceleratorKey: a}); err != nil {
			return keys, err
		}
	}
	for _, m := range c.Models {
		opts := []client.ListOption{client.MatchingFields{indexer.VAModelIDKey: m.ModelID}}
		if m.Namespace != "" {
			opts = append(opts, client.InNamespace(m.Namespace))
		}
		if err := collect(opts...); err != nil {
			return keys, err
		}
	}
	for _, sc := range c.ServiceClasses {
		if err := collect(client.MatchingFields{indexer.VAServiceClassKey: sc}); err != nil {
			return keys, err
		}
	}
	return keys, nil
}

// Handler maps ConfigMap events to the groups their diff affects.
func (w *ConfigWatcher) Handler() handler.TypedEventHandler[*corev1.ConfigMap, modelgroup.Key] {
	apply := func(ctx context.Context, cm *corev1.ConfigMap, deleted bool, q modelgroup.Queue) {
		if w.Watches(cm) {
			w.Enqueuer.Add(q, modelgroup.TriggerConfig, w.Apply(ctx, cm, deleted)...)
		}
	}
	return handler.TypedFuncs[*corev1.ConfigMap, modelgroup.Key]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[*corev1.ConfigMap], q modelgroup.Queue) {
			apply(ctx, e.Object, false, q)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[*corev1.ConfigMap], q modelgroup.Queue) {
			apply(ctx, e.ObjectNew, false, q)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[*corev1.ConfigMap], q modelgroup.Queue) {
			apply(ctx, e.Object, true, q)
		},
	}
}

// LoadInitial applies the ConfigMaps that exist before the controllers start,
// so the first plans use them (no flapping through defaults).
func (w *ConfigWatcher) LoadInitial(ctx context.Context, reader client.Reader) {
	for _, name := range config.Names() {
		var cm corev1.ConfigMap
		if err := reader.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: name}, &cm); err != nil {
			if client.IgnoreNotFound(err) != nil {
				log.FromContext(ctx).Error(err, "Reading a ConfigMap at start; its defaults stay in force until it is seen", "configmap", name)
			}
			continue
		}
		// No group to enqueue: every group is reconciled when the caches start.
		w.update(ctx, &cm, false)
	}
}
