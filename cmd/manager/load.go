package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// defaultLoadSource is the --load-source used when the flag is not given.
const defaultLoadSource = "prometheus"

// The bounds of --profile-window and --profile-memory: under a minute a
// window spans too few scrapes for rate() (it wants two at least); over an
// hour learning takes most of a day. A memory longer than a day follows no
// drift a day's traffic would show.
const (
	minProfileWindow = time.Minute
	maxProfileWindow = time.Hour
	maxProfileMemory = 24 * time.Hour
)

// loadDeps is what a load source may need from the process.
type loadDeps struct {
	// Store is the process's configuration (e.g. PROMETHEUS_BASE_URL); a
	// source that must follow changes subscribes to it.
	Store *config.Store
	// Manager gives clients and lets a source add runnables. Sources that
	// implement manager.Runnable are added by SetupControllers already.
	Manager manager.Manager
}

// loadSourceFactory builds one kind of load source from the options.
type loadSourceFactory struct {
	help  string
	build func(o *options, deps loadDeps) (modelgroup.LoadSource, error)
}

// loadSources are the values of --load-source; adding a source is adding
// one entry here.
var loadSources = map[string]loadSourceFactory{
	"none": {
		help: "\"none\" reads no load: every group reports MetricsMissing and keeps its replicas",
		build: func(*options, loadDeps) (modelgroup.LoadSource, error) {
			return noLoad{}, nil
		},
	},
	"prometheus": {
		help: "\"prometheus\" reads the vLLM and endpoint-picker metrics of every model from PROMETHEUS_BASE_URL once per GLOBAL_OPT_INTERVAL (docs/prometheus.md), and polls the endpoint pickers directly to wake models at zero (docs/scale-to-zero.md)",
		build: func(o *options, deps loadDeps) (modelgroup.LoadSource, error) {
			// PodWindows: the per-pod windows the profiles are learned from
			// (issue 15; 9 more queries once per --profile-window, whatever the
			// number of VAs).
			src, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: deps.Store, WatchNamespaces: o.watchNamespaceList,
				PodWindows: true, ProfileWindow: o.profileWindow})
			if err != nil {
				return nil, err
			}
			// The fast path from zero polls the endpoint pickers' own metrics
			// (GATEWAY_EPP_*; idle when none is set) and wakes only groups at
			// zero (docs/scale-to-zero.md).
			cache := deps.Manager.GetCache()
			gw, err := loadsource.NewGateway(loadsource.GatewayOptions{Config: deps.Store,
				AtZero: loadsource.CacheAtZero(cache), Discover: loadsource.DiscoverServices(cache)})
			if err != nil {
				return nil, err
			}
			both := loadsource.NewWithGateway(src, gw)
			deps.Store.Subscribe(both.OnConfigChange)
			return both, nil
		},
	},
	"synthetic": {
		help: "\"synthetic\" makes up a daily load curve per model (--synthetic-day, --synthetic-peak-rate), for demos",
		build: func(o *options, _ loadDeps) (modelgroup.LoadSource, error) {
			return loadsource.NewSynthetic(o.syntheticDay, o.syntheticPeakRate), nil
		},
	},
}

func loadSourceNames() []string {
	names := make([]string, 0, len(loadSources))
	for name := range loadSources {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func loadSourceHelp() string {
	parts := make([]string, 0, len(loadSources))
	for _, name := range loadSourceNames() {
		parts = append(parts, loadSources[name].help)
	}
	return strings.Join(parts, "; ")
}

// noLoad is the source of --load-source=none: no group's load is known, so
// every group holds its replicas (missing data is never zero load).
type noLoad struct{}

func (noLoad) Load(_ context.Context, key modelgroup.Key, _ time.Duration) modelgroup.LoadReading {
	return modelgroup.LoadReading{
		Reason:  llmdv1alpha1.ConditionReasonMetricsMissing,
		Message: fmt.Sprintf("the manager reads no load (--load-source=none); replicas of %s are held", key),
	}
}
