package loadsource

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// WithGateway is a load source that adds the fast path's gateway readings
// to a base source (usually Prometheus): Load overlays the fresh queue size
// (Waiting) and, on readings without load, the arrival rate seen at the
// gateway; Changes merges the base source's changes with the groups the
// fast path wakes. The overlay never makes a reading Available: it only
// adds evidence of demand, which can wake a group at zero and never scale
// anything down.
type WithGateway struct {
	Base    modelgroup.LoadSource
	Gateway *Gateway
	changes chan event.TypedGenericEvent[modelgroup.Key]
}

// NewWithGateway combines base and the fast path gw.
func NewWithGateway(base modelgroup.LoadSource, gw *Gateway) *WithGateway {
	return &WithGateway{Base: base, Gateway: gw, changes: make(chan event.TypedGenericEvent[modelgroup.Key], defaultChangeBuffer)}
}

// Load implements modelgroup.LoadSource.
func (s *WithGateway) Load(ctx context.Context, key modelgroup.Key, retention time.Duration) modelgroup.LoadReading {
	r := s.Base.Load(ctx, key, retention)
	queue, rate, ok := s.Gateway.Demand(key)
	if !ok {
		return r
	}
	r.Load.Waiting = max(r.Load.Waiting, queue)
	if !r.Available && r.Load.ArrivalRate == 0 {
		r.Load.ArrivalRate = rate
	}
	return r
}

// Changes implements modelgroup.LoadNotifier.
func (s *WithGateway) Changes() <-chan event.TypedGenericEvent[modelgroup.Key] { return s.changes }

// PodWindows passes the base source's per-pod windows through (the learned
// profiles read them); nil when the base source has none.
func (s *WithGateway) PodWindows(key modelgroup.Key) (windows map[string]estimator.Window, start, end time.Time) {
	if p, ok := s.Base.(interface {
		PodWindows(modelgroup.Key) (map[string]estimator.Window, time.Time, time.Time)
	}); ok {
		return p.PodWindows(key)
	}
	return nil, time.Time{}, time.Time{}
}

// OnConfigChange forwards to the base source when it listens to changes.
func (s *WithGateway) OnConfigChange(c config.Change) {
	if l, ok := s.Base.(interface{ OnConfigChange(config.Change) }); ok {
		l.OnConfigChange(c)
	}
}

// Start runs the base source (when it is a Runnable), the fast path and the
// merge of their changes until ctx ends. It implements manager.Runnable.
func (s *WithGateway) Start(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	if r, ok := s.Base.(manager.Runnable); ok {
		g.Go(func() error { return r.Start(ctx) })
	}
	g.Go(func() error { return s.Gateway.Start(ctx) })
	forward := func(in <-chan event.TypedGenericEvent[modelgroup.Key]) {
		g.Go(func() error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case e := <-in:
					select {
					case s.changes <- e:
					case <-ctx.Done():
						return nil
					}
				}
			}
		})
	}
	if n, ok := s.Base.(modelgroup.LoadNotifier); ok {
		forward(n.Changes())
	}
	forward(s.Gateway.Changes())
	return g.Wait()
}
