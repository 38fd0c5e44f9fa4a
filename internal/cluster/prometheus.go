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
	URL  string
	proc *process
}

// StartPrometheus starts the built prometheus in dir, scraping every target
// (host:port on loopback) at interval with honor_labels, so a series keeps
// the namespace label the operator gave it.
func StartPrometheus(ctx context.Context, assets, dir string, interval time.Duration, targets ...string) (*Prometheus, error) {
	bin := filepath.Join(assets, "prometheus")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s has no prometheus: run `make envtest-bins`: %w", assets, err)
	}
	for _, t := range targets {
		if !strings.HasPrefix(t, "127.") && !strings.HasPrefix(t, "localhost:") {
			return nil, fmt.Errorf("scrape target %s is not on loopback", t)
		}
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: %s
  evaluation_interval: %s
scrape_configs:
- job_name: targets
  honor_labels: true
  static_configs:
  - targets: ['%s']
`, interval, interval, strings.Join(targets, "', '"))
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, fmt.Errorf("writing the Prometheus configuration: %w", err)
	}
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p, err := startProcess("prometheus", bin, dir,
		"--config.file", cfgPath,
		"--storage.tsdb.path", filepath.Join(dir, "prometheus-data"),
		"--web.listen-address", addr,
	)
	if err != nil {
		return nil, err
	}
	prom := &Prometheus{URL: "http://" + addr, proc: p}
	if err := p.waitUntil(ctx, time.Minute, func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, prom.URL+"/-/ready") }); err != nil {
		return nil, errors.Join(err, p.stop(5*time.Second))
	}
	return prom, nil
}

// Stop stops Prometheus.
func (p *Prometheus) Stop() error {
	if p == nil {
		return nil
	}
	return p.proc.stop(10 * time.Second)
}
