package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// WriteStatus writes the status of a VA with optimistic locking: the merge
// patch carries the resourceVersion of the copy it was computed from, so a
// patch computed from a stale cache is refused instead of leaving fields of
// an older write behind. On a conflict the VA is read again through fresh (an
// uncached reader) and the patch is computed from the fresh copy. The status
// is the operator's alone, so the computed one replaces it whole. It returns how many conflicts were retried; a VA that
// is gone is not an error.
func WriteStatus(ctx context.Context, c client.Client, fresh client.Reader, cached *llmdv1alpha1.VariantAutoscaling,
	status llmdv1alpha1.VariantAutoscalingStatus) (conflicts int, err error) {
	current := cached
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if conflicts > 0 {
			var latest llmdv1alpha1.VariantAutoscaling
			if err := fresh.Get(ctx, client.ObjectKeyFromObject(cached), &latest); err != nil {
				return err
			}
			current = &latest
		}
		if equality.Semantic.DeepEqual(current.Status, status) {
			return nil
		}
		updated := current.DeepCopy()
		updated.Status = status
		// A merge patch that carries the resourceVersion it was computed
		// from: the API server refuses it when the object changed since.
		patch := client.MergeFromWithOptions(current, client.MergeFromWithOptimisticLock{})
		if current.ResourceVersion == "" {
			patch = client.MergeFrom(current) // never read from the API server: nothing to lock on
		}
		err := c.Status().Patch(ctx, updated, patch)
		if apierrors.IsConflict(err) {
			conflicts++
		}
		return err
	})
	if apierrors.IsNotFound(err) {
		return conflicts, nil
	}
	if err != nil {
		return conflicts, fmt.Errorf("writing the status of %s/%s: %w", cached.Namespace, cached.Name, err)
	}
	return conflicts, nil
}
