package modelgroup

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
)

// Target is what the operator observed of a VA's scale target.
type Target struct {
	// Found is false when the workload does not exist.
	Found bool
	// SpecReplicas is the replica count the workload is set to.
	SpecReplicas int32
	// StatusReplicas is the replica count the workload reports running.
	StatusReplicas int32
	// ReadyReplicas is the ready replicas a Deployment reports (0 for
	// other kinds: unknown).
	ReadyReplicas int32
	// Err is a lookup error other than "not found": the target's state is
	// unknown, so nothing is decided for it.
	Err error
	// Annotations of a Deployment target (for the llmd.ai/scaled-by opt-in;
	// nil for other kinds, which are read through /scale).
	Annotations map[string]string
}

// Member is one VA of a group with its target.
type Member struct {
	VA     *llmdv1alpha1.VariantAutoscaling
	Target Target
	// OwnerOfTarget names the older VA that owns this VA's target; empty
	// when this VA owns it (several VAs on one workload: the oldest wins).
	OwnerOfTarget string
}

// Snapshot is everything a group's plan depends on, read at one moment.
type Snapshot struct {
	Key Key
	// Members are sorted by name; empty when the group has vanished.
	Members []Member
	Config  *config.Config
	Load    LoadReading
	// RequireOptIn is set by the reconciler when targets must carry the
	// llmd.ai/scaled-by opt-in before they are sized.
	RequireOptIn bool
}

// ConfigSource gives the configuration in force.
type ConfigSource interface {
	Config() *config.Config
}

// Snapshotter reads group snapshots from the cache.
type Snapshotter struct {
	// Cache is the manager's cached reader; VAs and Deployments are read from it.
	Cache client.Reader
	// Scales reads the /scale subresource of kinds other than Deployment.
	Scales client.SubResourceClientConstructor
	Config ConfigSource
	Load   LoadSource
}

// Snapshot reads the group's members through the spec.modelID index (one
// cache List), each target's replicas, the config in force and the load. It
// fails only when the members cannot be listed; a target that cannot be
// read is reported in its member's Target.Err.
func (s *Snapshotter) Snapshot(ctx context.Context, key Key) (*Snapshot, error) {
	var list llmdv1alpha1.VariantAutoscalingList
	if err := s.Cache.List(ctx, &list, client.InNamespace(key.Namespace),
		client.MatchingFields{indexer.VAModelIDKey: key.ModelID}); err != nil {
		return nil, fmt.Errorf("listing the members of group %s: %w", key, err)
	}
	cfg := s.Config.Config()
	snap := &Snapshot{Key: key, Config: cfg, Members: make([]Member, 0, len(list.Items))}
	for i := range list.Items {
		va := &list.Items[i]
		if va.DeletionTimestamp != nil {
			continue
		}
		// A failed read is not a fact: the member carries the error (its
		// conditions say Unknown) and the rest of the group is still read.
		owner, err := s.targetOwner(ctx, va)
		m := Member{VA: va, OwnerOfTarget: owner}
		switch {
		case err != nil:
			m.Target = Target{Err: err}
		case owner == "":
			m.Target = s.target(ctx, va)
		}
		snap.Members = append(snap.Members, m)
	}
	slices.SortFunc(snap.Members, func(a, b Member) int { return cmp.Compare(a.VA.Name, b.VA.Name) })
	if len(snap.Members) > 0 {
		// Only a group that may scale to zero needs its requests within the
		// retention period (0: none), so only such groups depend on that query.
		retention := time.Duration(0)
		if p := cfg.ScaleToZeroFor(key.Namespace, key.ModelID); p.Enabled {
			retention = p.Retention
		}
		snap.Load = s.Load.Load(ctx, key, retention)
	}
	return snap, nil
}

// targetOwner returns the name of the oldest other VA with the same target,
// when it is older than va; "" when va is the oldest.
func (s *Snapshotter) targetOwner(ctx context.Context, va *llmdv1alpha1.VariantAutoscaling) (string, error) {
	var same llmdv1alpha1.VariantAutoscalingList
	ref := va.Spec.ScaleTargetRef
	if err := s.Cache.List(ctx, &same, client.InNamespace(va.Namespace),
		client.MatchingFields{indexer.VAScaleTargetKey: indexer.IndexVAScaleTarget(va)[0]}); err != nil {
		return "", fmt.Errorf("listing the VAs of target %s/%s: %w", ref.Kind, ref.Name, err)
	}
	owner := va
	for i := range same.Items {
		o := &same.Items[i]
		if o.DeletionTimestamp == nil && olderThan(o, owner) {
			owner = o
		}
	}
	if owner == va || owner.Name == va.Name {
		return "", nil
	}
	return owner.Name, nil
}

func olderThan(a, b *llmdv1alpha1.VariantAutoscaling) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// target reads the replicas of va's scale target: Deployments from the cache
// (they are watched), other kinds through their /scale subresource.
func (s *Snapshotter) target(ctx context.Context, va *llmdv1alpha1.VariantAutoscaling) Target {
	ref := va.Spec.ScaleTargetRef
	name := client.ObjectKey{Namespace: va.Namespace, Name: ref.Name}
	if IsDeployment(ref) {
		var d appsv1.Deployment
		if err := s.Cache.Get(ctx, name, &d); err != nil {
			return lookupFailure(err)
		}
		replicas := int32(1)
		if d.Spec.Replicas != nil {
			replicas = *d.Spec.Replicas
		}
		return Target{Found: true, SpecReplicas: replicas, StatusReplicas: d.Status.Replicas, ReadyReplicas: d.Status.ReadyReplicas,
			Annotations: d.Annotations}
	}
	obj, err := TargetObject(va)
	if err != nil {
		return Target{Err: err}
	}
	var scale autoscalingv1.Scale
	if err := s.Scales.SubResource("scale").Get(ctx, obj, &scale); err != nil {
		return lookupFailure(err)
	}
	return Target{Found: true, SpecReplicas: scale.Spec.Replicas, StatusReplicas: scale.Status.Replicas}
}

func lookupFailure(err error) Target {
	if apierrors.IsNotFound(err) {
		return Target{}
	}
	return Target{Err: err}
}

// IsDeployment reports whether a scale target is an apps/v1 Deployment.
func IsDeployment(ref llmdv1alpha1.ScaleTargetRef) bool {
	return (ref.Kind == "" || ref.Kind == "Deployment") && (ref.APIVersion == "" || ref.APIVersion == "apps/v1")
}

// TargetObject returns an object naming va's scale target, for /scale calls.
func TargetObject(va *llmdv1alpha1.VariantAutoscaling) (*unstructured.Unstructured, error) {
	ref := va.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("spec.scaleTargetRef.apiVersion %q: %w", ref.APIVersion, err)
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gv.WithKind(ref.Kind))
	u.SetNamespace(va.Namespace)
	u.SetName(ref.Name)
	return u, nil
}
