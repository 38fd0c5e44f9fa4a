package controller

import (
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestGroupRateLimiterCapsTheBackoff(t *testing.T) {
	rl := groupRateLimiter()
	failing, other := modelgroup.Key{Namespace: "ns", ModelID: "failing"}, modelgroup.Key{Namespace: "ns", ModelID: "other"}
	var last time.Duration
	for range 40 {
		last = rl.When(failing)
	}
	if last != maxErrorBackoff {
		t.Errorf("after 40 failures the delay is %v, want the cap %v", last, maxErrorBackoff)
	}
	if d := rl.When(other); d > time.Second {
		t.Errorf("another group's first retry waits %v: backoff must be per group", d)
	}
	rl.Forget(failing)
	if d := rl.When(failing); d > time.Second {
		t.Errorf("after a success the group's next retry waits %v, want the base delay", d)
	}
}
