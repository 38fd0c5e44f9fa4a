package loadsource

import (
	"context"
	"hash/fnv"
	"math"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/event"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Synthetic makes up a deterministic load per model: a daily curve
// (compressed into Day) plus short bursts, so the demo shows the operator
// reacting without any serving pods. The same model and time always give the
// same load.
type Synthetic struct {
	// Day is the length of one simulated day (e.g. 10 minutes for a demo).
	Day time.Duration
	// PeakRate is the highest base rate of any model, req/s.
	PeakRate float64
	// Interval is how often Start checks for moved loads; Tolerance the
	// relative move that reports a group.
	Interval  time.Duration
	Tolerance float64
	// Now is the clock.
	Now func() time.Time

	mu       sync.Mutex
	notified map[modelgroup.Key]float64
	changes  chan event.TypedGenericEvent[modelgroup.Key]
}

// NewSynthetic returns a source with demo-friendly defaults.
func NewSynthetic(day time.Duration, peakRate float64) *Synthetic {
	return &Synthetic{
		Day: day, PeakRate: peakRate, Interval: 5 * time.Second, Tolerance: 0.1, Now: time.Now,
		notified: map[modelgroup.Key]float64{},
		changes:  make(chan event.TypedGenericEvent[modelgroup.Key], 1024),
	}
}

// seed gives each model its own phase, size and token shape.
func seed(key modelgroup.Key) (phase, size float64, slots uint64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key.String()))
	v := h.Sum64()
	return float64(v%1000) / 1000, 0.3 + 0.7*float64((v>>10)%1000)/1000, v >> 20
}

// Rate is the model's arrival rate at t, req/s. One in four models has a
// night with no traffic at all, so scale-to-zero shows up in a demo.
func (s *Synthetic) Rate(key modelgroup.Key, t time.Time) float64 {
	phase, size, slots := seed(key)
	dayFrac := float64(t.UnixNano()%int64(s.Day)) / float64(s.Day)
	curve := math.Sin(2 * math.Pi * (dayFrac + phase))
	level := 0.55 + 0.45*curve
	if slots%4 == 0 {
		level = math.Max(0, curve)
	}
	// Bursts: a deterministic one in six slots of Day/48 doubles the rate.
	slot := uint64(t.UnixNano() / int64(s.Day/48))
	if level > 0 && (slot*2654435761+slots)%6 == 0 {
		level *= 2
	}
	return s.PeakRate * size * level
}

// Load implements modelgroup.LoadSource.
func (s *Synthetic) Load(_ context.Context, key modelgroup.Key, retention time.Duration) modelgroup.LoadReading {
	now := s.Now()
	s.mu.Lock()
	if _, ok := s.notified[key]; !ok {
		s.notified[key] = s.Rate(key, now)
	}
	s.mu.Unlock()
	_, size, _ := seed(key)
	recent := 0.0
	// Sample the retention window: enough to tell "no request" from "some".
	for i := 0; i <= 20; i++ {
		at := now.Add(-retention * time.Duration(i) / 20)
		recent += s.Rate(key, at) * retention.Seconds() / 21
	}
	return modelgroup.LoadReading{
		Available: true,
		Reason:    llmdv1alpha1.ConditionReasonMetricsFound,
		Load: modelgroup.Load{
			ArrivalRate:         s.Rate(key, now),
			AvgInputTokens:      math.Round(256 + 1024*size),
			AvgOutputTokens:     math.Round(128 + 256*size),
			RequestsInRetention: &recent,
			ObservedAt:          now,
		},
	}
}

// Changes implements modelgroup.LoadNotifier.
func (s *Synthetic) Changes() <-chan event.TypedGenericEvent[modelgroup.Key] { return s.changes }

// Start reports groups whose rate moved beyond the tolerance, every Interval,
// until ctx ends. It implements manager.Runnable.
func (s *Synthetic) Start(ctx context.Context) error {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			for _, key := range s.moved() {
				select {
				case s.changes <- event.TypedGenericEvent[modelgroup.Key]{Object: key}:
				case <-ctx.Done():
					return nil
				}
			}
		}
	}
}

func (s *Synthetic) moved() []modelgroup.Key {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []modelgroup.Key
	for key, last := range s.notified {
		rate := s.Rate(key, now)
		if Moved(last, rate, s.Tolerance) {
			s.notified[key] = rate
			keys = append(keys, key)
		}
	}
	return keys
}

// Moved reports whether a load moved from old to updated beyond a relative
// tolerance; any change to or from zero counts.
func Moved(old, updated, tolerance float64) bool {
	if old == updated {
		return false
	}
	if old == 0 || updated == 0 {
		return true
	}
	return math.Abs(updated-old)/math.Abs(old) > tolerance
}
