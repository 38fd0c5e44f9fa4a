package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// defaultLoadSource is the --load-source used when the flag is not given.
const defaultLoadSource = "prometheus"

// loadDeps is what a load source may need from the manager.
type loadDeps struct {
	// Config gives the configuration in force (e.g. PROMETHEUS_BASE_URL);
	// it answers nil until the controllers are set up, which happens before
	// the manager starts any runnable.
	Config modelgroup.ConfigSource
	// Manager gives clients and lets a source add runnables. Sources that
	// implement manager.Runnable are added by SetupControllers already.
	Manager manager.Manager
}

// builtLoadSource is a load source and its optional hook on config changes.
type builtLoadSource struct {
	Source modelgroup.LoadSource
	// OnConfigChange, when set, is told of every applied configuration
	// change (e.g. to reconnect when the Prometheus settings change).
	OnConfigChange func(config.Change)
}

// loadSourceFactory builds one kind of load source from the options.
type loadSourceFactory struct {
	help  string
	build func(o *options, deps loadDeps) (builtLoadSource, error)
}

// loadSources are the values of --load-source. Adding a source (e.g.
// "prometheus") is adding one entry here.
var loadSources = map[string]loadSourceFactory{
	"none": {
		help: "\"none\" reads no load: every group reports MetricsMissing and keeps its replicas",
		build: func(*options, loadDeps) (builtLoadSource, error) {
			return builtLoadSource{Source: noLoad{}}, nil
		},
	},
	"prometheus": {
		help: "\"prometheus\" reads the vLLM metrics of every model from PROMETHEUS_BASE_URL once per GLOBAL_OPT_INTERVAL (docs/prometheus.md)",
		build: func(_ *options, deps loadDeps) (builtLoadSource, error) {
			src, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: deps.Config})
			if err != nil {
				return builtLoadSource{}, err
			}
			return builtLoadSource{Source: src, OnConfigChange: src.OnConfigChange}, nil
		},
	},
	"synthetic": {
		help: "\"synthetic\" makes up a daily load curve per model (--synthetic-day, --synthetic-peak-rate), for demos",
		build: func(o *options, _ loadDeps) (builtLoadSource, error) {
			return builtLoadSource{Source: loadsource.NewSynthetic(o.syntheticDay, o.syntheticPeakRate)}, nil
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

// deferredConfig is a ConfigSource whose backing store exists only once the
// controllers are set up; until then it answers nil ("not ready yet"). It is
// set before the manager starts, so runnables never see nil.
type deferredConfig struct {
	mu  sync.RWMutex
	src modelgroup.ConfigSource
}

func (d *deferredConfig) Config() *config.Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.src == nil {
		return nil
	}
	return d.src.Config()
}

func (d *deferredConfig) set(src modelgroup.ConfigSource) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.src = src
}
