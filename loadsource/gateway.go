package loadsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	promconfig "github.com/prometheus/common/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// notReadyRetry is how soon Start retries while the config source has no
// configuration.
const notReadyRetry = 200 * time.Millisecond

// rewakeAfter is how long the gateway watcher waits before it sends a group
// that is still at zero with demand again (the first plan may have failed),
// and before it asks again whether a group with demand that was not at zero
// is at zero now: a model served by its pods costs one cached lookup per
// rewakeAfter, not one per poll.
const rewakeAfter = 5 * time.Second

// GatewayOptions configure a Gateway watcher. Config and AtZero are required.
type GatewayOptions struct {
	// Config gives the configuration in force; GATEWAY_* is read at every poll.
	Config modelgroup.ConfigSource
	// AtZero reports whether every variant of a group is at zero replicas.
	// It is asked only for models with demand at the gateway, so the
	// watcher's work grows with the groups at zero that have demand, not
	// with the number of VAs. CacheAtZero answers from the manager's cache.
	AtZero func(ctx context.Context, key modelgroup.Key) (bool, error)
	// Discover lists the EPP endpoints found from Services
	// (GATEWAY_EPP_SERVICE_SELECTOR); nil: only the configured endpoints.
	Discover func(ctx context.Context, cfg config.GatewayConfig) ([]config.GatewayEndpoint, error)
	// WrapTransport wraps the HTTP transport (tests count requests with it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// OnPoll, when set, is called after every poll.
	OnPoll func(GatewayPollStats)
	// ChangeBuffer is the capacity of Changes (default 1024).
	ChangeBuffer int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// GatewayPollStats describes one poll of the endpoint pickers.
type GatewayPollStats struct {
	At        time.Time
	Endpoints int
	// Requests is the number of HTTP requests sent, Failed how many failed.
	Requests, Failed int
	// Models is the number of (namespace, model) pairs read.
	Models int
	// Checked is the number of groups asked AtZero (models with demand).
	Checked int
	// Woken are the groups at zero with demand sent on Changes.
	Woken []modelgroup.Key
	Err   error
}

// gatewayReading is the latest of one (namespace, model) at the gateway.
type gatewayReading struct {
	at       time.Time
	queue    float64
	requests float64
	// rate is the request rate between the last two polls, req/s.
	rate float64
	// demandSince is when the model was first seen with demand (queue > 0 or
	// arrivals) since it last had none; zero without demand.
	demandSince time.Time
	wokenAt     time.Time
	// notAtZeroUntil caches an AtZero answer of false: a model served by
	// its pods with requests arriving is not asked again before then.
	notAtZeroUntil time.Time
}

// Gateway is the fast path from zero: it polls the endpoint pickers'
// metrics endpoints directly every GATEWAY_POLL_INTERVAL (a Prometheus scrape
// interval is too slow to wake a model within seconds) and sends on Changes
// the groups that are at zero while requests wait or arrive for their model.
// One HTTP request per endpoint per poll, whatever the number of VAs.
type Gateway struct {
	opts    GatewayOptions
	changes chan event.TypedGenericEvent[modelgroup.Key]

	pollMu    sync.Mutex // serializes polls; guards client and clientCfg
	client    *http.Client
	clientCfg config.PrometheusConfig
	lastErr   error

	mu       sync.RWMutex
	readings map[modelgroup.Key]*gatewayReading
}

// NewGateway returns a watcher; nothing is contacted until Start or Poll.
func NewGateway(opts GatewayOptions) (*Gateway, error) {
	if opts.Config == nil || opts.AtZero == nil {
		return nil, errors.New("GatewayOptions.Config and AtZero are required")
	}
	if opts.ChangeBuffer <= 0 {
		opts.ChangeBuffer = defaultChangeBuffer
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Gateway{opts: opts, changes: make(chan event.TypedGenericEvent[modelgroup.Key], opts.ChangeBuffer),
		readings: map[modelgroup.Key]*gatewayReading{}}, nil
}

// Changes carries the groups woken from zero.
func (g *Gateway) Changes() <-chan event.TypedGenericEvent[modelgroup.Key] { return g.changes }

// Demand returns what the gateway reported last for a group: the requests
// in its queue and the arrival rate between the last two polls. ok is false
// when the model has no fresh reading (older than three poll periods).
func (g *Gateway) Demand(key modelgroup.Key) (queue, rate float64, ok bool) {
	cfg := g.opts.Config.Config()
	if cfg == nil {
		return 0, 0, false
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	r, found := g.readings[key]
	if !found || g.opts.Now().Sub(r.at) > 3*cfg.Operator.Gateway.Poll() {
		return 0, 0, false
	}
	return r.queue, r.rate, true
}

// DemandSince returns when the group was first seen with demand since it
// last had none (zero: no demand now).
func (g *Gateway) DemandSince(key modelgroup.Key) time.Time {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if r, ok := g.readings[key]; ok {
		return r.demandSince
	}
	return time.Time{}
}

// Start polls once per GATEWAY_POLL_INTERVAL until ctx ends; without any
// configured or discoverable endpoint it only waits. It implements manager.Runnable.
func (g *Gateway) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("gateway-fast-path")
	ctx = log.IntoContext(ctx, logger)
	for {
		wait := notReadyRetry
		if cfg := g.opts.Config.Config(); cfg != nil {
			wait = cfg.Operator.Gateway.Poll()
			if cfg.Operator.Gateway.FastPath() {
				started := g.opts.Now()
				g.Poll(ctx)
				wait -= g.opts.Now().Sub(started)
			}
		}
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// Poll reads every endpoint once, updates the readings and wakes the groups
// at zero with demand.
func (g *Gateway) Poll(ctx context.Context) GatewayPollStats {
	g.pollMu.Lock()
	defer g.pollMu.Unlock()
	logger := log.FromContext(ctx)
	now := g.opts.Now()
	stats := GatewayPollStats{At: now}
	cfg := g.opts.Config.Config()
	if cfg == nil {
		stats.Err = errors.New("no configuration in force yet")
		return stats
	}
	gw := cfg.Operator.Gateway
	endpoints := gw.EndpointList()
	if g.opts.Discover != nil && gw.ServiceSelector != "" {
		found, err := g.opts.Discover(ctx, gw)
		if err != nil {
			stats.Err = fmt.Errorf("discovering endpoint pickers (%s): %w", config.KeyGatewayEPPServiceSelector, err)
		}
		endpoints = append(endpoints, found...)
	}
	stats.Endpoints = len(endpoints)
	client, err := g.httpClient(gw.Conn)
	if err != nil {
		stats.Err = err
		g.logTransition(logger, err)
		g.finish(stats)
		return stats
	}
	read := map[modelgroup.Key]gatewayModel{}
	for _, ep := range endpoints {
		stats.Requests++
		models, err := g.fetch(ctx, client, ep.URL, gw)
		if err != nil {
			stats.Failed++
			stats.Err = errors.Join(stats.Err, err)
			continue
		}
		for m, v := range models {
			key := modelgroup.Key{Namespace: ep.Namespace, ModelID: m}
			prev := read[key]
			prev.Queue += v.Queue
			prev.Requests += v.Requests
			prev.HasQueue = prev.HasQueue || v.HasQueue
			prev.HasRequests = prev.HasRequests || v.HasRequests
			read[key] = prev
		}
	}
	g.logTransition(logger, stats.Err)
	stats.Models = len(read)
	for _, key := range g.update(read, now) {
		stats.Checked++
		atZero, err := g.opts.AtZero(ctx, key)
		if err != nil {
			stats.Err = errors.Join(stats.Err, fmt.Errorf("is group %s at zero: %w", key, err))
			continue
		}
		g.mu.Lock()
		if r := g.readings[key]; r != nil {
			if atZero {
				r.wokenAt = now
			} else {
				r.notAtZeroUntil = now.Add(rewakeAfter)
			}
		}
		g.mu.Unlock()
		if !atZero {
			continue
		}
		select {
		case g.changes <- event.TypedGenericEvent[modelgroup.Key]{Object: key}:
			stats.Woken = append(stats.Woken, key)
			logger.Info("Requests wait at the gateway for a model at zero; planning it now", "group", key.String())
		case <-ctx.Done():
			return stats
		}
	}
	g.finish(stats)
	return stats
}

func (g *Gateway) finish(stats GatewayPollStats) {
	if g.opts.OnPoll != nil {
		g.opts.OnPoll(stats)
	}
}

// update stores the readings of a poll and returns the groups with demand
// that were not woken within rewakeAfter. A model that an endpoint stopped
// reporting is forgotten, so memory is bounded by the models at the gateway.
func (g *Gateway) update(read map[modelgroup.Key]gatewayModel, now time.Time) []modelgroup.Key {
	g.mu.Lock()
	defer g.mu.Unlock()
	var demand []modelgroup.Key
	for key, v := range read {
		r, seen := g.readings[key]
		if !seen {
			r = &gatewayReading{}
			g.readings[key] = r
		}
		arrived := 0.0
		if seen && v.Requests >= r.requests {
			arrived = v.Requests - r.requests
			if dt := now.Sub(r.at).Seconds(); dt > 0 {
				r.rate = arrived / dt
			}
		} else {
			r.rate = 0 // first reading, or a counter reset: no rate yet
		}
		r.at, r.queue, r.requests = now, v.Queue, v.Requests
		if v.Queue > 0 || arrived > 0 {
			if r.demandSince.IsZero() {
				r.demandSince = now
			}
			if now.Sub(r.wokenAt) >= rewakeAfter && !now.Before(r.notAtZeroUntil) {
				demand = append(demand, key)
			}
		} else {
			r.demandSince = time.Time{}
		}
	}
	for key := range g.readings {
		if _, ok := read[key]; !ok {
			delete(g.readings, key)
		}
	}
	return demand
}

func (g *Gateway) fetch(ctx context.Context, client *http.Client, url string, gw config.GatewayConfig) (map[string]gatewayModel, error) {
	ctx, cancel := context.WithTimeout(ctx, gw.RequestTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("endpoint picker %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("endpoint picker %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return nil, fmt.Errorf("endpoint picker %s: HTTP %s", url, resp.Status)
	}
	models, err := parseGatewayMetrics(io.LimitReader(resp.Body, 64<<20), gw.RequestMetricNames(), gw.QueueMetricNames(), gw.Label())
	if err != nil {
		return nil, fmt.Errorf("endpoint picker %s: %w", url, err)
	}
	return models, nil
}

// httpClient returns a client with the GATEWAY_* TLS and authentication
// settings (prometheus/common re-reads the token file per request and the
// certificate files when they change), rebuilt when the settings change.
func (g *Gateway) httpClient(pc config.PrometheusConfig) (*http.Client, error) {
	if g.client != nil && g.clientCfg == pc {
		return g.client, nil
	}
	hc := httpClientConfig(pc)
	if err := hc.Validate(); err != nil {
		return nil, fmt.Errorf("the GATEWAY_* connection settings: %w", err)
	}
	rt, err := promconfig.NewRoundTripperFromConfig(hc, "variant-autoscaler-gateway",
		promconfig.WithIdleConnTimeout(idleConnTimeout))
	if err != nil {
		return nil, fmt.Errorf("building the endpoint picker client (%s, %s, %s, %s): %w",
			config.KeyGatewayCACertPath, config.KeyGatewayClientCertPath,
			config.KeyGatewayClientKeyPath, config.KeyGatewayTokenPath, err)
	}
	if g.opts.WrapTransport != nil {
		rt = g.opts.WrapTransport(rt)
	}
	if g.client != nil {
		g.client.CloseIdleConnections()
	}
	g.client, g.clientCfg = &http.Client{Transport: rt}, pc
	return g.client, nil
}

func (g *Gateway) logTransition(logger logr.Logger, err error) {
	switch {
	case err != nil && g.lastErr == nil:
		logger.Error(err, "Polling the endpoint pickers failed; groups at zero are woken by the Prometheus refresh only")
	case err == nil && g.lastErr != nil:
		logger.Info("Polling the endpoint pickers works again")
	}
	g.lastErr = err
}
