package harness

import (
	"context"
	"errors"
	"fmt"
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
	// Settle is how long the manager keeps running after every VA has its
	// status, so that its memory reaches its steady level (default 10s).
	Settle time.Duration
	// Env is added to the manager's environment (e.g. GOMEMLIMIT=120MiB).
	Env     []string
	Timebox time.Duration
	Log     *os.File
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

	cmd := exec.CommandContext(ctx, o.Manager,
		"--kubeconfig="+env.Kubeconfig, "--config-namespace="+framework.ConfigNamespace,
		"--watch-namespaces="+strings.Join(model.Namespaces, ","), "--load-source=none",
		"--metrics-bind-address=0", "--health-probe-bind-address=0", "--zap-log-level=error",
		"--kube-api-qps="+strconv.FormatFloat(o.KubeAPIQPS, 'g', -1, 64))
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
	rss, hwm, err := procRSS(pid)
	if err != nil {
		return res, err
	}
	res.SettledRSSMiB, res.PeakRSSMiB = mib(rss), mib(hwm)
	res.CPUSeconds, err = procCPU(pid)
	return res, err
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

// procRSS reads VmRSS and VmHWM (bytes) of a process.
func procRSS(pid int) (rss, hwm uint64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseUint(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			hwm = kb << 10
		}
	}
	if hwm == 0 {
		return 0, 0, errors.New("no VmHWM in /proc/<pid>/status")
	}
	return rss, hwm, nil
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
