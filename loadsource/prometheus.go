package loadsource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Defaults of PrometheusOptions.
const (
	DefaultRateWindow           = time.Minute
	DefaultProfileWindow        = time.Minute
	DefaultMaxConcurrentQueries = 4
	defaultChangeBuffer         = 1024
)

// PrometheusOptions configure a Prometheus source. Only Config is required.
type PrometheusOptions struct {
	// Config gives the configuration in force. It is read at every refresh:
	// the Prometheus connection (PROMETHEUS_*), the refresh interval
	// (GLOBAL_OPT_INTERVAL), the notification tolerance
	// (LOAD_CHANGE_TOLERANCE) and the scale-to-zero retention periods. It
	// is the process's config.Store, so it always has a configuration.
	Config modelgroup.ConfigSource
	// RateWindow is the range of the rate() queries (default 1m).
	RateWindow time.Duration
	// MaxConcurrentQueries bounds the queries in flight (default 4).
	MaxConcurrentQueries int
	// Registerer receives the source's own metrics (default
	// controller-runtime's metrics.Registry). Registering twice on one
	// registry shares the collectors.
	Registerer prometheus.Registerer
	// WrapTransport, when set, wraps the HTTP transport of every connection
	// the source builds (tests count requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// OnRefresh, when set, is called after every refresh with its outcome,
	// after the readings are in place and the changed groups were sent.
	OnRefresh func(RefreshStats)
	// ChangeBuffer is the capacity of the Changes channel (default 1024).
	ChangeBuffer int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PodWindows adds the nine per-pod queries of the profile estimator
	// (pods.go) to a refresh once per ProfileWindow; PodWindows answers them.
	PodWindows bool
	// ProfileWindow is the range of the per-pod queries, and how often they
	// are sent (default 1m; it must span two scrapes of the servers or
	// more): consecutive windows do not overlap, so each
	// observation the estimators take is independent of the one before
	// (docs/learned-profiles.md).
	ProfileWindow time.Duration
	// WatchNamespaces restricts the queries and the readings to these
	// namespaces (the manager's --watch-namespaces; empty: all).
	WatchNamespaces []string
}

// RefreshStats describes one refresh.
type RefreshStats struct {
	// At is the evaluation time of the queries.
	At time.Time
	// Duration is how long the refresh took (queries and evaluation).
	Duration time.Duration
	// Queries is the number of PromQL queries sent; Failed how many of them failed.
	Queries, Failed int
	// Groups is the number of groups with an arrival rate series.
	Groups int
	// Changed is the number of groups notified on Changes.
	Changed int
	// Err is why the readings are unavailable (PrometheusError), or nil.
	Err error
}

// Prometheus is the operator's load source: one refresher reads the
// load of every model group from Prometheus with a fixed set of grouped
// instant queries per GLOBAL_OPT_INTERVAL, whatever the number of groups or
// VAs, keeps the readings in memory for Load, and sends on Changes the groups
// whose reading moved beyond LOAD_CHANGE_TOLERANCE or became (un)available.
//
// It is a manager.Runnable and a modelgroup.LoadNotifier: controller.SetupControllers
// starts it and watches its changes when it is given as Options.Load.
type Prometheus struct {
	opts    PrometheusOptions
	metrics *promMetrics
	changes chan event.TypedGenericEvent[modelgroup.Key]
	kick    chan struct{}

	// snap holds the readings of the last refresh; nil before the first.
	snap atomic.Pointer[promSnapshot]

	// refreshMu serializes refreshes and guards conn and baseline.
	refreshMu sync.Mutex
	conn      *promConn
	// baseline holds, per group, the reading last notified; a group absent
	// from it counts as "no metrics" (MetricsMissing).
	baseline map[modelgroup.Key]modelgroup.LoadReading
	// lastErr is the error of the previous refresh, to log transitions only.
	lastErr error
	// goodSince holds, per group warming up, the first refresh that read
	// it again after it was unavailable (see warmUp).
	goodSince map[modelgroup.Key]time.Time
	// pods holds the per-pod windows of the last refresh that read them;
	// the refreshes in between answer PodWindows from it.
	pods podWindows
}

// NewPrometheus returns a source reading Prometheus as configured by
// opts.Config. Nothing is contacted until Start or Refresh.
func NewPrometheus(opts PrometheusOptions) (*Prometheus, error) {
	if opts.Config == nil {
		return nil, errors.New("PrometheusOptions.Config is required")
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = DefaultRateWindow
	}
	if opts.ProfileWindow <= 0 {
		opts.ProfileWindow = DefaultProfileWindow
	}
	if opts.MaxConcurrentQueries <= 0 {
		opts.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if opts.ChangeBuffer <= 0 {
		opts.ChangeBuffer = defaultChangeBuffer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Prometheus{
		opts:      opts,
		metrics:   newPromMetrics(opts.Registerer),
		changes:   make(chan event.TypedGenericEvent[modelgroup.Key], opts.ChangeBuffer),
		kick:      make(chan struct{}, 1),
		baseline:  map[modelgroup.Key]modelgroup.LoadReading{},
		goodSince: map[modelgroup.Key]time.Time{},
	}, nil
}

// Changes implements modelgroup.LoadNotifier.
func (s *Prometheus) Changes() <-chan event.TypedGenericEvent[modelgroup.Key] { return s.changes }

// OnConfigChange makes Start refresh at once when a change concerns the
// source: the Prometheus connection, the timers, or the scale-to-zero
// policies (whose retention periods are queried). Subscribe it to the
// config.Store: store.Subscribe(source.OnConfigChange).
func (s *Prometheus) OnConfigChange(c config.Change) {
	if c.Prometheus || c.Timers || c.AllGroups || len(c.Models) > 0 {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}

// Load implements modelgroup.LoadSource from the readings of the last refresh. The
// retention selects which "requests within the retention period" reading is
// reported; only the retention periods of enabled scale-to-zero policies in
// the config are queried, others leave RequestsInRetention nil.
func (s *Prometheus) Load(_ context.Context, key modelgroup.Key, retention time.Duration) modelgroup.LoadReading {
	return s.snap.Load().reading(key, retention)
}

// Start refreshes at once and then once per GLOBAL_OPT_INTERVAL (read
// before every wait, so a new interval applies from the next tick) until
// ctx ends. It implements manager.Runnable.
func (s *Prometheus) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("prometheus-load")
	ctx = log.IntoContext(ctx, logger)
	for {
		started := s.opts.Now()
		cfg := s.opts.Config.Config()
		if _, err := s.refresh(ctx, cfg); err != nil && ctx.Err() != nil {
			return nil
		}
		wait := cfg.Operator.OptInterval - s.opts.Now().Sub(started)
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-s.kick:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// Refresh runs one refresh now with the configuration in force: it queries
// Prometheus, replaces the readings Load answers from and sends the changed
// groups. It returns what happened; stats.Err says why the readings are
// unavailable. The error is non-nil only when ctx ended.
func (s *Prometheus) Refresh(ctx context.Context) (RefreshStats, error) {
	return s.refresh(ctx, s.opts.Config.Config())
}

func (s *Prometheus) refresh(ctx context.Context, cfg *config.Config) (RefreshStats, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	logger := log.FromContext(ctx)

	start := s.opts.Now()
	stats := RefreshStats{At: start}
	snap := s.query(ctx, cfg, start, &stats)
	snap.keepNamespaces(s.opts.WatchNamespaces)
	if ctx.Err() != nil {
		// Shutting down: a cancelled query says nothing about Prometheus.
		return stats, ctx.Err()
	}
	s.warmUp(s.snap.Load(), snap)
	s.snap.Store(snap)
	stats.Err = snap.err
	stats.Groups = len(snap.groups)
	s.logTransition(logger, snap.err)

	changed := s.diff(cfg, snap)
	stats.Changed = len(changed)
	stats.Duration = s.opts.Now().Sub(start)
	s.metrics.duration.Observe(stats.Duration.Seconds())
	s.metrics.changed.Add(float64(len(changed)))
	for _, key := range changed {
		select {
		case s.changes <- event.TypedGenericEvent[modelgroup.Key]{Object: key}:
		case <-ctx.Done():
			return stats, ctx.Err()
		}
	}
	logger.V(1).Info("Load refreshed", "queries", stats.Queries, "groups", stats.Groups,
		"changed", stats.Changed, "duration", stats.Duration)
	if s.opts.OnRefresh != nil {
		s.opts.OnRefresh(stats)
	}
	return stats, nil
}

// warmUp holds a group that reads again after a gap until a whole rate
// window of fresh data exists. Prometheus's rate() extrapolates only half a
// scrape interval beyond the samples at the edges of the window, so a window
// that starts inside a gap (Prometheus was down, the target was down, the
// series is new) underestimates the rate: right after a Prometheus restart
// that is a fraction of the real load, and acting on it would scale down.
// A group that was unavailable (or absent, or every group when the refresh
// failed) in the previous refresh is therefore reported MetricsStale from the
// first refresh that reads it again until RateWindow has passed. A group
// present at the source's first refresh is trusted at once: there is no
// evidence of a gap.
func (s *Prometheus) warmUp(prev, snap *promSnapshot) {
	if snap.err != nil {
		clear(s.goodSince)
		return
	}
	window := s.opts.RateWindow
	for key, g := range snap.groups {
		if !g.available {
			delete(s.goodSince, key)
			continue
		}
		since, warming := s.goodSince[key]
		if !warming && prev != nil {
			p, ok := prev.groups[key]
			if prev.err != nil || !ok || !p.available {
				since, warming = snap.at, true
				s.goodSince[key] = since
			}
		}
		if !warming {
			continue
		}
		if !snap.at.Before(since.Add(window)) {
			delete(s.goodSince, key)
			continue
		}
		snap.groups[key] = promGroup{reason: llmdv1alpha1.ConditionReasonMetricsStale, message: fmt.Sprintf(
			"the metrics are back since %s after a gap; the rate window (%s) is fully covered from %s",
			since.Format(time.TimeOnly), window, since.Add(window).Format(time.TimeOnly))}
	}
	for key := range s.goodSince {
		if _, ok := snap.groups[key]; !ok {
			delete(s.goodSince, key)
		}
	}
}

// logTransition logs when Prometheus becomes unusable or usable again, not
// at every refresh.
func (s *Prometheus) logTransition(logger logr.Logger, err error) {
	switch {
	case err != nil && s.lastErr == nil:
		logger.Error(err, "Reading the load from Prometheus failed; every model group holds its replicas")
	case err != nil:
		logger.V(1).Info("Reading the load from Prometheus still fails", "error", err.Error())
	case s.lastErr != nil:
		logger.Info("Reading the load from Prometheus works again")
	}
	s.lastErr = err
}

// diff returns the groups whose reading moved beyond the tolerance since it
// was last notified, or whose availability or reason changed, and records
// their new readings as the baseline.
func (s *Prometheus) diff(cfg *config.Config, snap *promSnapshot) []modelgroup.Key {
	keys := make(map[modelgroup.Key]struct{}, len(snap.groups)+len(s.baseline))
	for k := range snap.groups {
		keys[k] = struct{}{}
	}
	for k := range s.baseline {
		keys[k] = struct{}{}
	}
	tolerance := cfg.Operator.LoadChangeTolerance
	var changed []modelgroup.Key
	for key := range keys {
		cur := snap.reading(key, cfg.ScaleToZeroFor(key.Namespace, key.ModelID).Retention)
		old, ok := s.baseline[key]
		if !ok {
			old = modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing}
		}
		if !readingMoved(old, cur, tolerance, cfg.Operator.BacklogDrainTime) {
			continue
		}
		changed = append(changed, key)
		if !cur.Available && cur.Reason == llmdv1alpha1.ConditionReasonMetricsMissing && !hasDemand(cur.Load) {
			delete(s.baseline, key) // the default: keeps the map bounded by the groups with metrics
		} else {
			s.baseline[key] = cur
		}
	}
	return changed
}

// readingMoved reports whether a group's reading changed enough to re-plan
// the group: availability or reason, the arrival rate, the demand with the
// backlog drained within drain, or token averages beyond the tolerance, or
// whether requests arrived within the retention.
func readingMoved(old, cur modelgroup.LoadReading, tolerance float64, drain time.Duration) bool {
	if old.Available != cur.Available || old.Reason != cur.Reason {
		return true
	}
	// Demand at the gateway appearing or going wakes a group without pods.
	if hasDemand(old.Load) != hasDemand(cur.Load) {
		return true
	}
	if !cur.Available {
		return false
	}
	a, b := old.Load, cur.Load
	return Moved(a.ArrivalRate, b.ArrivalRate, tolerance) ||
		Moved(demand(a, drain), demand(b, drain), tolerance) ||
		Moved(a.AvgInputTokens, b.AvgInputTokens, tolerance) ||
		Moved(a.AvgOutputTokens, b.AvgOutputTokens, tolerance) ||
		activityOf(a.RequestsInRetention) != activityOf(b.RequestsInRetention)
}

// demand is the rate a plan sizes for: the arrivals and the requests
// waiting at the gateway and at the servers, served within drain.
func demand(l modelgroup.Load, drain time.Duration) float64 {
	return l.ArrivalRate + allocator.BacklogRate(l.Waiting+l.ServerWaiting, drain)
}

// hasDemand reports whether requests wait or arrive at the gateway.
func hasDemand(l modelgroup.Load) bool { return l.Waiting > 0 || l.ArrivalRate > 0 }

// activityOf classifies a count of requests within the retention: unknown,
// none, some.
func activityOf(n *float64) int {
	switch {
	case n == nil:
		return 0
	case *n > 0:
		return 2
	default:
		return 1
	}
}

// promSnapshot is what one refresh read. It is immutable once stored.
type promSnapshot struct {
	// at is the evaluation time of the queries.
	at time.Time
	// err makes every group's reading unavailable (PrometheusError).
	err error
	// groups holds the groups with an arrival rate series.
	groups map[modelgroup.Key]promGroup
	// inRetention holds, per queried retention period, the requests of each group within it.
	inRetention map[time.Duration]map[modelgroup.Key]float64
	// retentionErr holds the error of each retention query that failed: the
	// groups that use that retention period have no reading.
	retentionErr map[time.Duration]error
	// dataSince holds, per queried retention period, when each group's data
	// in the window begins (the window start when it covers it all).
	dataSince map[time.Duration]map[modelgroup.Key]time.Time
	// pods holds the per-pod windows when PodWindows is set.
	pods podWindows
}

// promGroup is one group's reading without its requests in retention.
type promGroup struct {
	load      modelgroup.Load
	available bool
	reason    string
	message   string
}

func (p *promSnapshot) reading(key modelgroup.Key, retention time.Duration) modelgroup.LoadReading {
	switch {
	case p == nil:
		return modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing,
			Message: "the load has not been read from Prometheus yet"}
	case p.err != nil:
		return modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonPrometheusError, Message: p.err.Error()}
	case p.retentionErr[retention] != nil:
		return modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonPrometheusError, Message: p.retentionErr[retention].Error()}
	}
	g, ok := p.groups[key]
	if !ok {
		return modelgroup.LoadReading{Reason: llmdv1alpha1.ConditionReasonMetricsMissing,
			Message: fmt.Sprintf("Prometheus has no %s series with namespace=%q and model_name=%q", metricRequests, key.Namespace, key.ModelID)}
	}
	r := modelgroup.LoadReading{Load: g.load, Available: g.available, Reason: g.reason, Message: g.message}
	if r.Available {
		if v, ok := p.inRetention[retention][key]; ok {
			r.Load.RequestsInRetention = &v
			r.Load.DataSince = p.dataSinceOf(key, retention)
		}
	}
	return r
}
