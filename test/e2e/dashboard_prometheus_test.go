//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// dashPrometheus is a real Prometheus scraping the vLLM emulator and the
// operator every second, for the dashboard test. It is kept apart from the
// scenario's prometheusServer, which that test restarts and wipes.
type dashPrometheus struct {
	addr, logPath string
	cmd           *exec.Cmd
	exited        chan error
}

func startScrapingPrometheus(ctx context.Context, binary, dir, vllmTarget, operatorTarget string) (*dashPrometheus, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vllm
    static_configs:
      - targets: [%q]
  - job_name: variant-autoscaler
    # The operator's series carry the variant's namespace; keep it.
    honor_labels: true
    static_configs:
      - targets: [%q]
`, vllmTarget, operatorTarget)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	p := &dashPrometheus{addr: addr, logPath: filepath.Join(dir, "prometheus.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(binary, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	go func() { p.exited <- p.cmd.Wait(); logFile.Close() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/-/ready", http.NoBody)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case err := <-p.exited:
			return nil, fmt.Errorf("prometheus exited at start (%v); log:\n%s", err, p.Log())
		case <-ctx.Done():
			return nil, errors.Join(ctx.Err(), p.Stop())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("prometheus not ready after 60s; log:\n%s", p.Log()), p.Stop())
		}
	}
}

func (p *dashPrometheus) URL() string { return "http://" + p.addr }

// Stop terminates Prometheus (SIGTERM, SIGKILL after 15s) and waits.
func (p *dashPrometheus) Stop() error {
	if p.cmd == nil || p.cmd.Process == nil {
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
		return nil // ended by the signal
	}
	return err
}

// Log returns the end of Prometheus's log.
func (p *dashPrometheus) Log() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(bytes.TrimSpace(b))
}
