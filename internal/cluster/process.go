package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// process is one child binary of the local cluster (kube-controller-manager,
// kube-scheduler, kwok, ...) with its output in a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	err     error
}

// startProcess starts bin with args, writing stdout and stderr to
// dir/<name>.log.
func startProcess(name, bin, dir string, args ...string) (*process, error) {
	return startProcessEnv(name, bin, dir, nil, args...)
}

// startProcessEnv is startProcess with extra environment variables.
func startProcessEnv(name, bin, dir string, env []string, args ...string) (*process, error) {
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the log of %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a Ctrl-C in a terminal reaches only the parent,
	// which stops the children in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop asks the process to end (SIGTERM) and kills it when it has not ended
// after the grace period.
func (p *process) stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("killing %s: %w", p.name, err)
	}
	<-p.exited
	return nil
}

// failed returns an error when the process has already exited.
func (p *process) failed() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); its log is %s:\n%s", p.name, p.err, p.logPath, tail(p.logPath, 2000))
	default:
		return nil
	}
}

// waitUntil polls ready every 200 ms until it returns nil, the process exits
// or the timeout passes.
func (p *process) waitUntil(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		if err := p.failed(); err != nil {
			return err
		}
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %s (last: %w); its log is %s:\n%s", p.name, timeout, err, p.logPath, tail(p.logPath, 2000))
		case <-t.C:
		}
	}
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(st.Size()-n, 0)
	buf := make([]byte, st.Size()-off)
	_, _ = f.ReadAt(buf, off)
	return string(buf)
}

// freeLoopbackPort returns a TCP port that is free on 127.0.0.1 now.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// processes are components started in order, stopped in reverse order.
type processes []*process

// failed returns an error naming every process that has exited.
func (ps processes) failed() error {
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.failed())
	}
	return errors.Join(errs...)
}

// stop stops them all, the last started first, and forgets them.
func (ps *processes) stop() error {
	var errs []error
	for i := len(*ps) - 1; i >= 0; i-- {
		errs = append(errs, (*ps)[i].stop(10*time.Second))
	}
	*ps = nil
	return errors.Join(errs...)
}
