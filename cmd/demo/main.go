// Command demo runs the variant-autoscaler on a local control plane with
// simulated load and prints what it decides: `make demo`.
//
// It needs the control-plane binaries of `make envtest-bins` (found through
// KUBEBUILDER_ASSETS, by default in ~/.cache/variant-autoscaler/envtest/).
// Ctrl-C stops it and removes everything it started. With --duration (or
// DEMO_DURATION) it stops by itself and exits non-zero unless every sample
// variant got a decision: the CI smoke test.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/internal/demo"
)

// k8sVersion is the control-plane version `make envtest-bins` builds.
const k8sVersion = "1.37.2"

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var o demo.Options
	duration := os.Getenv("DEMO_DURATION")
	fs.Func("duration", "Stop after this long (e.g. 60s) and exit non-zero unless every variant got a decision; "+
		"default: $DEMO_DURATION, else run until Ctrl-C.", func(s string) error { duration = s; return nil })
	fs.DurationVar(&o.Day, "day", 10*time.Minute, "Length of one simulated day of load.")
	fs.Float64Var(&o.PeakRate, "peak-rate", 40, "Highest base request rate of any model, requests per second.")
	fs.DurationVar(&o.Refresh, "refresh", 5*time.Second, "How often the table is printed.")
	fs.DurationVar(&o.ReadyDelay, "ready-delay", 30*time.Second, "How long a scheduled pod takes to become Ready (model loading, played by kwok).")
	fs.DurationVar(&o.ProfileWindow, "profile-window", 10*time.Second, "Window of the emulated servers' metrics the profiles are learned from (the manager's --profile-window).")
	fs.StringVar(&o.StateDir, "state-dir", demo.DefaultStateDir(), "Folder of the kubeconfig and the operator log.")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: demo [flags]\n\n"+
			"Runs the operator on a local cluster (real Deployment, ReplicaSet and scheduler controllers, kwok GPU nodes) with simulated load and prints its decisions.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if duration != "" {
		d, err := time.ParseDuration(duration)
		if err != nil || d <= 0 {
			fmt.Fprintf(os.Stderr, "demo: --duration/DEMO_DURATION %q must be a positive Go duration such as 60s\n", duration)
			return 2
		}
		o.Duration = d
	}
	if os.Getenv(cluster.AssetsEnv) == "" {
		home, _ := os.UserHomeDir()
		_ = os.Setenv(cluster.AssetsEnv, filepath.Join(home, ".cache", "variant-autoscaler", "envtest", k8sVersion))
	}

	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	o.LogPath = filepath.Join(o.StateDir, "operator.log")
	logFile, err := os.Create(o.LogPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	defer func() { _ = logFile.Close() }()
	o.Logger = zap.New(zap.WriteTo(logFile), zap.Level(zapcore.InfoLevel))
	ctrl.SetLogger(o.Logger)
	klog.SetLogger(o.Logger.WithName("client-go"))
	klog.SetOutput(io.Discard)
	o.Out = os.Stdout
	o.Clear = isTerminal(os.Stdout)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		// A second Ctrl-C kills the demo at once.
		stop()
	}()
	res, err := demo.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		return 1
	}
	if res.Interrupted {
		fmt.Println("Interrupted.")
	}
	return 0
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
