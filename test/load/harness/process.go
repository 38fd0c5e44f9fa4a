package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// ProcessOptions configure a run of the manager binary as its own process.
type ProcessOptions struct {
	Shape
	// Manager is the path of the built cmd/manager.
	Manager string
	// KubeAPIQPS is passed as --kube-api-qps.
	KubeAPIQPS float64
	// StatusWriters is passed as --status-writers (0: the manager's default).
	StatusWriters int
	// Settle is how long the manager keeps running after every VA has its
	// status, so that its memory reaches its steady level (default 10s).
	Settle time.Duration
	// Env is added to the manager's environment (e.g. GOMEMLIMIT=120MiB).
	Env []string
	// HeapProfile, when set, is the file the manager's heap profile is
	// written to after Settle (served on a loopback --pprof-bind-address).
	HeapProfile string
	Timebox     time.Duration
	Log         *os.File
}

// ProcessResult is what the manager process used.
type ProcessResult struct {
	N int `json:"n"`
	// ConvergeSeconds: from the manager's start until every VA had a status.
	ConvergeSeconds float64 `json:"convergeSeconds"`
	// PeakRSSMiB is the kernel's peak resident set of the process (VmHWM);
	// SettledRSSMiB its RSS after Settle.
	PeakRSSMiB    float64 `json:"peakRSSMiB"`
	SettledRSSMiB float64 `json:"settledRSSMiB"`
	// SettledFileRSSMiB is the part of SettledRSSMiB mapped from files
	// (the binary's code and data, shared and reclaimable); the rest is
	// the process's own memory (heap, stacks, runtime).
	SettledFileRSSMiB float64 `json:"settledFileRSSMiB"`
	// CPUSeconds is the process's user + system CPU time until the end.
	CPUSeconds float64 `json:"cpuSeconds"`
	// Workloads are the pods and nodes the real controllers ran.
	Workloads Workloads `json:"workloads"`
}

// RunManagerProcess builds the cluster of the load test (without the write
// floor), starts the manager binary against it (--load-source=none: every
// group holds its replicas and gets its status) and measures the process.
// The manager's memory is its own: cache, queues, series and nothing else.
func RunManagerProcess(ctx context.Context, o ProcessOptions) (*ProcessResult, error) {
	quietLogs()
	if o.Settle <= 0 {
		o.Settle = 10 * time.Second
	}
	if o.Timebox <= 0 {
		o.Timebox = 10 * time.Minute
	}
	model, err := NewModel(o.Shape, longInterval)
	if err != nil {
		return nil, err
	}
	res := &ProcessResult{N: o.N}
	r := &runner{opts: Options{Shape: model.Shape, NoFloor: true, Timebox: o.Timebox}, model: model, result: &Result{}}
	r.opts.defaults()
	if err := r.startControlPlane(); err != nil {
		return nil, err
	}
	env := r.env
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		_ = env.Stop()
		res.Workloads = r.result.Workloads
	}()
	setupCfg := rest.CopyConfig(env.Config)
	setupCfg.QPS, setupCfg.Burst = 5000, 10000
	if r.setup, err = client.NewWithWatch(setupCfg, client.Options{Scheme: framework.Scheme}); err != nil {
		return nil, err
	}
	if err := r.createCluster(ctx); err != nil {
		return nil, err
	}

	pprofAddr := "0"
	if o.HeapProfile != "" {
		if pprofAddr, err = freeLoopbackAddress(); err != nil {
			return nil, err
		}
	}
	cmd := exec.CommandContext(ctx, o.Manager, "--pprof-bind-address="+pprofAddr,
		"--kubeconfig="+env.Kubeconfig, "--config-namespace="+framework.ConfigNamespace,
		"--watch-namespaces="+strings.Join(model.Namespaces, ","), "--load-source=none",
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--zap-log-level=error",
		"--kube-api-qps="+strconv.FormatFloat(o.KubeAPIQPS, 'g', -1, 64))
	if o.StatusWriters > 0 {
		cmd.Args = append(cmd.Args, "--status-writers="+strconv.Itoa(o.StatusWriters))
	}
	cmd.Stdout, cmd.Stderr = o.Log, o.Log
	cmd.Env = append(os.Environ(), o.Env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Manager, err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	pid := cmd.Process.Pid

	deadline := t0.Add(o.Timebox)
	for {
		n, err := vasWithStatus(ctx, r.setup, model.Namespaces)
		if err != nil {
			return res, err
		}
		if n == len(model.VAs) {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("%d of %d VAs had a status after %s", n, len(model.VAs), o.Timebox)
		}
		sleep(ctx, 2*time.Second)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.ConvergeSeconds = time.Since(t0).Seconds()
	sleep(ctx, o.Settle)
	rss, err := procRSS(pid)
	if err != nil {
		return res, err
	}
	res.SettledRSSMiB, res.PeakRSSMiB, res.SettledFileRSSMiB = mib(rss.rss), mib(rss.hwm), mib(rss.file)
	if res.CPUSeconds, err = procCPU(pid); err != nil {
		return res, err
	}
	if o.HeapProfile != "" {
		err = saveHeapProfile(ctx, pprofAddr, o.HeapProfile)
	}
	return res, err
}

// freeLoopbackAddress returns a loopback host:port nothing listens on now.
func freeLoopbackAddress() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String(), nil
}

// saveHeapProfile writes the heap profile served at addr to path.
func saveHeapProfile(ctx context.Context, addr, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/debug/pprof/heap", http.NoBody)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reading the manager's heap profile: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reading the manager's heap profile: %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the manager's heap profile: %w", err)
	}
	return os.WriteFile(path, data, 0o644)
}

// vasWithStatus counts the VAs that have a desired replica count.
func vasWithStatus(ctx context.Context, c client.Client, namespaces []string) (int, error) {
	n := 0
	for _, ns := range namespaces {
		var list llmdv1alpha1.VariantAutoscalingList
		if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
			return 0, err
		}
		for i := range list.Items {
			if list.Items[i].Status.DesiredReplicas != nil {
				n++
			}
		}
	}
	return n, nil
}

type residentSet struct{ rss, hwm, file uint64 }

// procRSS reads VmRSS, VmHWM and RssFile (bytes) of a process.
func procRSS(pid int) (residentSet, error) {
	var out residentSet
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return out, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			out.rss = kb << 10
		case "VmHWM:":
			out.hwm = kb << 10
		case "RssFile:":
			out.file = kb << 10
		}
	}
	if out.hwm == 0 {
		return out, errors.New("no VmHWM in /proc/<pid>/status")
	}
	return out, nil
}

// procCPU reads a process's user + system CPU seconds from /proc/<pid>/stat.
func procCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command (which may hold spaces) start after ')'.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc/<pid>/stat")
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	const ticks = 100 // USER_HZ on Linux
	return (utime + stime) / ticks, nil
}
