package controller

import (
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// maxErrorBackoff caps how long a group whose reconcile keeps failing waits
// before its next try. controller-runtime's default grows to about 16
// minutes, longer than any time rule of a group, so a transient fault that
// clears would leave the group unplanned for a quarter of an hour.
const maxErrorBackoff = 5 * time.Minute

// groupRateLimiter is controller-runtime's default limiter for the group
// queue (per-item exponential backoff from 5 ms, and 10 requests per second
// with bursts of 100 overall) with the backoff capped at maxErrorBackoff.
func groupRateLimiter() workqueue.TypedRateLimiter[modelgroup.Key] {
	return retryRateLimiter[modelgroup.Key]()
}

// retryRateLimiter is that limiter for any queue (the status queue's too).
func retryRateLimiter[T comparable]() workqueue.TypedRateLimiter[T] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[T](5*time.Millisecond, maxErrorBackoff),
		&workqueue.TypedBucketRateLimiter[T]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}
