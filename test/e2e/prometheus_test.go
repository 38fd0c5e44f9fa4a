//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

// prometheusServer is a real Prometheus (3.x, built from source) scraping
// its targets every second, on a loopback port, with its data in a
// folder that survives Stop so that Start brings the same server back.
type prometheusServer struct {
	Addr    string // host:port of the web API
	dir     string
	binary  string
	target  string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan error
	logPath string
}

// findPrometheus returns the path of the prometheus binary: the one built
// from source into $KUBEBUILDER_ASSETS (hack/build-envtest.sh, `make
// envtest-bins`), or PROMETHEUS_BINARY.
func findPrometheus() (string, error) {
	if p := os.Getenv("PROMETHEUS_BINARY"); p != "" {
		return p, nil
	}
	dir, err := framework.AssetsDir()
	if err != nil {
		return "", fmt.Errorf("the e2e test needs Prometheus built from source: %w", err)
	}
	p := filepath.Join(dir, "prometheus")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the e2e test needs Prometheus built from source at %s (`make envtest-bins` builds it) or PROMETHEUS_BINARY: %w", p, err)
	}
	return p, nil
}

func newPrometheus(binary, dir, target string) (*prometheusServer, error) {
	return newPrometheusScraping(binary, dir, scrapeJob{name: "vllm", target: target, path: "/metrics"})
}

// scrapeJob is one scrape job of a single target.
type scrapeJob struct{ name, target, path string }

// newPrometheusScraping configures Prometheus to scrape every job every second.
func newPrometheusScraping(binary, dir string, jobs ...scrapeJob) (*prometheusServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &prometheusServer{Addr: addr, dir: dir, binary: binary, target: jobs[0].target, logPath: filepath.Join(dir, "prometheus.log")}
	cfg := `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
`
	for _, j := range jobs {
		cfg += fmt.Sprintf("  - job_name: %s\n    metrics_path: %s\n    static_configs:\n      - targets: [%q]\n", j.name, j.path, j.target)
	}
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

// Wipe deletes the stored data of a stopped Prometheus: the next Start
// begins with an empty storage, as after a restart without a volume.
func (p *prometheusServer) Wipe() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("prometheus is running")
	}
	return os.RemoveAll(filepath.Join(p.dir, "data"))
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// URL is the base URL of the web API.
func (p *prometheusServer) URL() string { return "http://" + p.Addr }

// Start runs Prometheus and waits until it is ready.
func (p *prometheusServer) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("prometheus is running")
	}
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.binary,
		"--config.file="+filepath.Join(p.dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(p.dir, "data"),
		"--web.listen-address="+p.Addr,
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the test
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", p.binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	p.cmd, p.exited = cmd, exited

	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/-/ready", http.NoBody)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			p.cmd = nil
			return fmt.Errorf("prometheus exited at start (%v); log:\n%s", err, p.Log())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus not ready after 60s; log:\n%s", p.Log())
		}
	}
}

// Stop terminates Prometheus (SIGTERM, then SIGKILL after 15s) and waits.
func (p *prometheusServer) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		err = <-p.exited
	}
	p.cmd = nil
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return nil // terminated by the signal
	}
	return err
}

// Log returns the last lines Prometheus logged.
func (p *prometheusServer) Log() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
