package controller

import (
	"fmt"
	"time"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// partialData turns an available reading into MetricsStale when fewer pods
// report metrics than the group's targets have ready replicas (a pod's scrape
// fails): the sum over the reporting pods is then not the model's load, and
// acting on it would scale down. The demand at the gateway is kept.
func partialData(snap *modelgroup.Snapshot) modelgroup.LoadReading {
	r := snap.Load
	if !r.Available || r.Load.Pods <= 0 {
		return r
	}
	ready := int32(0)
	for _, m := range snap.Members {
		if m.OwnerOfTarget == "" && m.Target.Found {
			ready += m.Target.ReadyReplicas
		}
	}
	if int32(r.Load.Pods) >= ready {
		return r
	}
	r.Available = false
	r.Reason = llmdv1alpha1.ConditionReasonMetricsStale
	r.Message = fmt.Sprintf("only %d of the %d ready pods report metrics (a scrape fails?); replicas are held", r.Load.Pods, ready)
	return r
}

// newestCreation is when the group's newest VA was created: scale to zero
// waits a retention period after it.
func newestCreation(snap *modelgroup.Snapshot) time.Time {
	var t time.Time
	for _, m := range snap.Members {
		if c := m.VA.CreationTimestamp.Time; c.After(t) {
			t = c
		}
	}
	return t
}
