package demo

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// simulator stands in for kube-controller-manager and the kubelets, which a
// local control plane does not run: each Deployment's status follows its
// spec.replicas once the change is Delay old, as if the pods started.
type simulator struct {
	Client    client.Client
	Namespace string
	// Delay is how long "starting the pods" takes.
	Delay time.Duration
	// Poll is how often Deployments are looked at.
	Poll time.Duration
	Now  func() time.Time

	// since is when each Deployment was first seen out of date.
	since map[string]time.Time
}

// Run updates statuses until ctx ends.
func (s *simulator) Run(ctx context.Context) {
	s.since = map[string]time.Time{}
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	for {
		s.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step brings up to date every Deployment whose change is old enough.
// Failures (e.g. a conflict with the operator's /scale write) are retried
// at the next step.
func (s *simulator) step(ctx context.Context) {
	var list appsv1.DeploymentList
	if err := s.Client.List(ctx, &list, client.InNamespace(s.Namespace)); err != nil {
		return
	}
	now := s.Now()
	for i := range list.Items {
		d := &list.Items[i]
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		st := d.Status
		if st.ObservedGeneration == d.Generation && st.Replicas == want && st.ReadyReplicas == want &&
			st.AvailableReplicas == want && st.UpdatedReplicas == want {
			delete(s.since, d.Name)
			continue
		}
		first, seen := s.since[d.Name]
		if !seen {
			s.since[d.Name] = now
			continue
		}
		if now.Sub(first) < s.Delay {
			continue
		}
		d.Status.ObservedGeneration = d.Generation
		d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = want, want, want, want
		d.Status.UnavailableReplicas = 0
		if err := s.Client.Status().Update(ctx, d); err == nil {
			delete(s.since, d.Name)
		}
	}
}
