//go:build linux

package e2e

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// promInterval is the scrape interval: the operator's rate windows are 10 s.
const promInterval = time.Second

// prometheusServer is the built Prometheus (cluster.StartPrometheusWith)
// scraping loopback targets every second, which Stop and Start take down and
// bring back on the same address with the same data, as a Prometheus pod
// restarted behind its Service.
type prometheusServer struct {
	dir  string
	jobs []cluster.ScrapeJob
	mu   sync.Mutex
	addr string // fixed by the first start
	// running is the server while it runs; last the one started last.
	running, last *cluster.Prometheus
}

// vllmJob scrapes the emulator's vLLM pods at target.
func vllmJob(target string) cluster.ScrapeJob {
	return cluster.ScrapeJob{Name: "vllm", Targets: []string{target}}
}

// serveEmulator serves the emulator's metrics on loopback until ctx ends
// and returns its address.
func serveEmulator(ctx context.Context, t *testing.T, emu *emulator.Emulator) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = emu.Serve(ctx, ln) }()
	return ln.Addr().String()
}

// startPrometheus runs Prometheus scraping the jobs until the test ends, and
// prints its log if the test failed.
func startPrometheus(ctx context.Context, t *testing.T, jobs ...cluster.ScrapeJob) *prometheusServer {
	t.Helper()
	p := &prometheusServer{dir: t.TempDir(), jobs: jobs}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Prometheus log:\n%s", p.Log())
		}
		if err := p.Stop(); err != nil {
			t.Errorf("stopping Prometheus: %v", err)
		}
	})
	return p
}

// URL is the base URL of the web API.
func (p *prometheusServer) URL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.addr
}

// Start runs Prometheus and waits until it is ready.
func (p *prometheusServer) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running != nil {
		return errors.New("prometheus is running")
	}
	assets, err := framework.AssetsDir()
	if err != nil {
		return err
	}
	prom, err := cluster.StartPrometheusWith(ctx, assets, p.dir, cluster.PrometheusOptions{
		Interval: promInterval, Jobs: p.jobs, Addr: p.addr,
		// Its log is printed when a test fails: only what went wrong.
		LogLevel: "warn",
	})
	if err != nil {
		return err
	}
	p.addr = strings.TrimPrefix(prom.URL, "http://")
	p.running, p.last = prom, prom
	return nil
}

// Stop stops Prometheus and waits.
func (p *prometheusServer) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.running.Stop()
	p.running = nil
	return err
}

// Wipe deletes the stored data of a stopped Prometheus: the next Start
// begins with an empty storage, as after a restart without a volume.
func (p *prometheusServer) Wipe() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running != nil {
		return errors.New("prometheus is running")
	}
	if p.last == nil {
		return nil
	}
	return os.RemoveAll(p.last.DataDir())
}

// Log returns the end of the log of the Prometheus started last.
func (p *prometheusServer) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		return ""
	}
	return p.last.Log()
}
