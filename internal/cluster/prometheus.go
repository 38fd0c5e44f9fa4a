package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Prometheus is the built Prometheus scraping loopback targets only (static
// configurations written here, never Kubernetes service discovery, whose pod
// IPs are fake).
type Prometheus struct {
	// URL is the base URL of its query API.
	URL     string
	dataDir string
	proc    *process
}

// ScrapeJob is one scrape job of Prometheus over loopback targets.
type ScrapeJob struct {
	Name string
	// Path is the metrics path; empty means /metrics.
	Path string
	// Targets are host:port on loopback.
	Targets []string
	// HonorLabels keeps a series' own labels (e.g. the namespace the
	// operator gave it) where they clash with the target's.
	HonorLabels bool
}

// PrometheusOptions configure StartPrometheusWith.
type PrometheusOptions struct {
	// Interval is the scrape and evaluation interval.
	Interval time.Duration
	Jobs     []ScrapeJob
	// Addr is the loopback host:port to serve on; empty picks a free port.
	// Starting again with the same folder and Addr brings the same server
	// back, with its data, as a restarted Prometheus behind a Service.
	Addr string
	// LogLevel is Prometheus's --log.level; empty keeps its default (info).
	LogLevel string
}

// StartPrometheus starts the built prometheus in dir, scraping every target
// (host:port on loopback) at interval with honor_labels, so a series keeps
// the namespace label the operator gave it.
func StartPrometheus(ctx context.Context, assets, dir string, interval time.Duration, targets ...string) (*Prometheus, error) {
	return StartPrometheusWith(ctx, assets, dir, PrometheusOptions{
		Interval: interval,
		Jobs:     []ScrapeJob{{Name: "targets", Targets: targets, HonorLabels: true}},
	})
}

// StartPrometheusWith starts the built prometheus in dir with the scrape jobs
// of opts, its data in dir, and waits until it is ready.
func StartPrometheusWith(ctx context.Context, assets, dir string, opts PrometheusOptions) (*Prometheus, error) {
	bin := filepath.Join(assets, "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s has no prometheus: run `make envtest-bins`: %w", assets, err)
	}
	cfg, err := prometheusConfig(opts)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("writing the Prometheus configuration: %w", err)
	}
	addr := opts.Addr
	if addr == "" {
		port, err := freeLoopbackPort()
		if err != nil {
			return nil, err
		}
		addr = fmt.Sprintf("127.0.0.1:%d", port)
	} else if !onLoopback(addr) {
		return nil, fmt.Errorf("the Prometheus address %s is not on loopback", addr)
	}
	dataDir := filepath.Join(dir, "prometheus-data")
	args := []string{
		"--config.file", cfgPath,
		"--storage.tsdb.path", dataDir,
		"--web.listen-address", addr,
	}
	if opts.LogLevel != "" {
		args = append(args, "--log.level", opts.LogLevel)
	}
	p, err := startProcess("prometheus", bin, dir, args...)
	if err != nil {
		return nil, err
	}
	prom := &Prometheus{URL: "http://" + addr, dataDir: dataDir, proc: p}
	if err := p.waitUntil(ctx, time.Minute, func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, prom.URL+"/-/ready") }); err != nil {
		return nil, errors.Join(err, p.stop(5*time.Second))
	}
	return prom, nil
}

// prometheusConfig renders the configuration of opts, refusing targets off
// loopback.
func prometheusConfig(opts PrometheusOptions) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\nscrape_configs:\n", opts.Interval, opts.Interval)
	for _, j := range opts.Jobs {
		for _, t := range j.Targets {
			if !onLoopback(t) {
				return "", fmt.Errorf("scrape target %s is not on loopback", t)
			}
		}
		fmt.Fprintf(&b, "- job_name: %s\n", j.Name)
		if j.HonorLabels {
			b.WriteString("  honor_labels: true\n")
		}
		if j.Path != "" {
			fmt.Fprintf(&b, "  metrics_path: %s\n", j.Path)
		}
		fmt.Fprintf(&b, "  static_configs:\n  - targets: ['%s']\n", strings.Join(j.Targets, "', '"))
	}
	return b.String(), nil
}

func onLoopback(hostPort string) bool {
	return strings.HasPrefix(hostPort, "127.") || strings.HasPrefix(hostPort, "localhost:")
}

// DataDir is the folder of the stored series; removing it while Prometheus
// is stopped makes the next start begin empty.
func (p *Prometheus) DataDir() string { return p.dataDir }

// Log returns the end of Prometheus's log, for failure messages.
func (p *Prometheus) Log() string { return tail(p.proc.logPath, 4000) }

// Stop stops Prometheus.
func (p *Prometheus) Stop() error {
	if p == nil {
		return nil
	}
	return p.proc.stop(10 * time.Second)
}
