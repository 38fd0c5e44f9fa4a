package modelgroup

import (
	"context"
	"maps"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// Queue is the controller's workqueue of group keys.
type Queue = workqueue.TypedRateLimitingInterface[Key]

// Enqueuer adds groups to the queue and records why.
type Enqueuer struct {
	Triggers *Triggers
	// Reader, when set, finds the VAs sharing a deleted VA's target, whose
	// groups are re-planned at once (one of them takes the target over).
	Reader client.Reader
}

// Add enqueues keys with a trigger.
func (e Enqueuer) Add(q Queue, trigger Trigger, keys ...Key) {
	for _, k := range keys {
		e.Triggers.Record(k, trigger)
		q.Add(k)
	}
}

// GroupsOfVAChange returns the groups a VA update touches: none for a
// status-only change, its group for a spec, label or annotation change, and
// the old group too when the VA moved between groups.
func GroupsOfVAChange(old, updated *llmdv1alpha1.VariantAutoscaling) []Key {
	specChanged := old.Generation != updated.Generation || !reflect.DeepEqual(old.Spec, updated.Spec)
	metaChanged := !maps.Equal(old.Labels, updated.Labels) || !maps.Equal(old.Annotations, updated.Annotations) ||
		(old.DeletionTimestamp == nil) != (updated.DeletionTimestamp == nil)
	if !specChanged && !metaChanged {
		return nil
	}
	oldKey, newKey := KeyOf(old), KeyOf(updated)
	if oldKey != newKey {
		return []Key{newKey, oldKey}
	}
	return []Key{newKey}
}

// VAHandler maps VariantAutoscaling events to their groups.
func (e Enqueuer) VAHandler() handler.TypedEventHandler[*llmdv1alpha1.VariantAutoscaling, Key] {
	return handler.TypedFuncs[*llmdv1alpha1.VariantAutoscaling, Key]{
		CreateFunc: func(_ context.Context, ev event.TypedCreateEvent[*llmdv1alpha1.VariantAutoscaling], q Queue) {
			e.Add(q, TriggerVA, KeyOf(ev.Object))
		},
		UpdateFunc: func(_ context.Context, ev event.TypedUpdateEvent[*llmdv1alpha1.VariantAutoscaling], q Queue) {
			e.Add(q, TriggerVA, GroupsOfVAChange(ev.ObjectOld, ev.ObjectNew)...)
		},
		DeleteFunc: func(ctx context.Context, ev event.TypedDeleteEvent[*llmdv1alpha1.VariantAutoscaling], q Queue) {
			e.Add(q, TriggerVA, KeyOf(ev.Object))
			// A VA waiting for the deleted one's target (TargetConflict) takes
			// it over now, not at its next GLOBAL_OPT_INTERVAL (issue 12).
			if e.Reader != nil {
				ref := ev.Object.Spec.ScaleTargetRef
				e.Add(q, TriggerVA, GroupsTargeting(ctx, e.Reader, ev.Object.Namespace, ref.Kind, ref.Name)...)
			}
		},
		GenericFunc: func(_ context.Context, ev event.TypedGenericEvent[*llmdv1alpha1.VariantAutoscaling], q Queue) {
			e.Add(q, TriggerVA, KeyOf(ev.Object))
		},
	}
}

// DeploymentScaleChanged reports whether a Deployment update changed what the
// operator reads from it: desired, current or ready replicas.
func DeploymentScaleChanged(old, updated *appsv1.Deployment) bool {
	replicas := func(d *appsv1.Deployment) int32 {
		if d.Spec.Replicas == nil {
			return 1
		}
		return *d.Spec.Replicas
	}
	return replicas(old) != replicas(updated) ||
		old.Status.Replicas != updated.Status.Replicas ||
		old.Status.ReadyReplicas != updated.Status.ReadyReplicas
}

// GroupsTargeting returns the groups of the VAs whose scale target is the
// named workload, through the scale-target index.
func GroupsTargeting(ctx context.Context, r client.Reader, namespace, kind, name string) []Key {
	var vas llmdv1alpha1.VariantAutoscalingList
	if err := r.List(ctx, &vas, client.InNamespace(namespace),
		client.MatchingFields{indexer.VAScaleTargetKey: indexer.ScaleTargetValue(kind, name)}); err != nil {
		log.FromContext(ctx).Error(err, "Listing the VAs of a scale target", "namespace", namespace, "kind", kind, "name", name)
		return nil
	}
	return uniqueKeys(vas.Items)
}

// DeploymentHandler maps Deployment events to the groups of the VAs targeting them.
func (e Enqueuer) DeploymentHandler(r client.Reader) handler.TypedEventHandler[*appsv1.Deployment, Key] {
	enqueue := func(ctx context.Context, d *appsv1.Deployment, q Queue) {
		e.Add(q, TriggerTarget, GroupsTargeting(ctx, r, d.Namespace, "Deployment", d.Name)...)
	}
	return handler.TypedFuncs[*appsv1.Deployment, Key]{
		CreateFunc: func(ctx context.Context, ev event.TypedCreateEvent[*appsv1.Deployment], q Queue) {
			enqueue(ctx, ev.Object, q)
		},
		UpdateFunc: func(ctx context.Context, ev event.TypedUpdateEvent[*appsv1.Deployment], q Queue) {
			if DeploymentScaleChanged(ev.ObjectOld, ev.ObjectNew) {
				enqueue(ctx, ev.ObjectNew, q)
			}
		},
		DeleteFunc: func(ctx context.Context, ev event.TypedDeleteEvent[*appsv1.Deployment], q Queue) {
			enqueue(ctx, ev.Object, q)
		},
	}
}

// LoadHandler enqueues the groups a load source reports as changed.
func (e Enqueuer) LoadHandler() handler.TypedEventHandler[Key, Key] {
	return handler.TypedFuncs[Key, Key]{
		GenericFunc: func(_ context.Context, ev event.TypedGenericEvent[Key], q Queue) {
			e.Add(q, TriggerLoad, ev.Object)
		},
	}
}

func uniqueKeys(vas []llmdv1alpha1.VariantAutoscaling) []Key {
	seen := make(map[Key]struct{}, len(vas))
	keys := make([]Key, 0, len(vas))
	for i := range vas {
		k := KeyOf(&vas[i])
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			keys = append(keys, k)
		}
	}
	return keys
}
