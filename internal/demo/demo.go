// Package demo runs the operator on a local control plane with simulated
// load: `make demo`. It starts etcd and kube-apiserver from the binaries
// `make envtest-bins` builds, installs the CRD and the shipped ConfigMaps,
// creates sample Deployments and VariantAutoscalings, runs the manager
// in-process with a synthetic load source and --actuation=scale, plays the
// part of the Deployment controller, and prints what the operator decides.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Options tune a demo run. Zero values take the defaults shown.
type Options struct {
	// Duration ends the demo by itself after this long and checks that every
	// sample variant got a decision; 0 runs until ctx ends (Ctrl-C).
	Duration time.Duration
	// Day is the length of one simulated day of load (10m).
	Day time.Duration
	// PeakRate is the highest base request rate of any model, req/s (40).
	PeakRate float64
	// Refresh is how often the table is printed (5s).
	Refresh time.Duration
	// ReadyDelay is how long a scheduled pod takes to become Ready, as a
	// model loads (30s; kwok plays it).
	ReadyDelay time.Duration
	// ProfileWindow is the window of the servers' metrics the profiles are
	// learned from (10s; the manager's --profile-window).
	ProfileWindow time.Duration
	// Pools are the fake GPU node pools (Pools).
	Pools []cluster.NodePool
	// StateDir receives the kubeconfig (~/.cache/variant-autoscaler/demo).
	StateDir string
	// Out receives the instructions and the table (os.Stdout).
	Out io.Writer
	// Clear clears the screen before each table (for terminals).
	Clear bool
	// Logger receives the operator's log (discarded when unset).
	Logger logr.Logger
	// LogPath, when set, is shown to the user as where the log goes.
	LogPath string
}

// Result is what a run observed.
type Result struct {
	// Kubeconfig is the admin kubeconfig the run wrote (removed at the end).
	Kubeconfig string
	// APIServer is the host:port the control plane served on.
	APIServer string
	// Rows are the variants as last seen before teardown.
	Rows []Row
	// Interrupted is true when ctx ended the run before Duration.
	Interrupted bool
}

// DefaultStateDir is where the demo writes its kubeconfig.
func DefaultStateDir() string {
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "variant-autoscaler", "demo")
}

func (o *Options) defaults() {
	if o.Day <= 0 {
		o.Day = 10 * time.Minute
	}
	if o.PeakRate <= 0 {
		o.PeakRate = 40
	}
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Pools == nil {
		o.Pools = Pools()
	}
	if o.ReadyDelay <= 0 {
		o.ReadyDelay = 30 * time.Second
	}
	if o.ProfileWindow <= 0 {
		o.ProfileWindow = 10 * time.Second
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir()
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
}

// Run runs the demo until ctx ends or Duration passes, then tears
// everything down. It returns an error when something failed to start, when
// the operator stopped, or when, at the end of Duration, a sample variant
// has no desired replicas; an interrupted run returns no error.
func Run(ctx context.Context, o Options) (res *Result, err error) {
	o.defaults()
	out := o.Out
	assets, err := cluster.AssetsDir()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", o.StateDir, err)
	}

	fmt.Fprintf(out, "Starting a local cluster (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok built in %s)...\n", assets)
	env, err := cluster.Start(cluster.Options{ClientQPS: 50, ClientBurst: 100, Workloads: &cluster.WorkloadOptions{
		Pools: o.Pools, PodStartDelay: o.ReadyDelay,
	}})
	if err != nil {
		return nil, err
	}
	res = &Result{APIServer: hostOf(env.Config.Host), Kubeconfig: filepath.Join(o.StateDir, "kubeconfig")}
	// Teardown, in reverse order of the steps below, registered as they succeed.
	var teardown []func() error
	defer func() {
		fmt.Fprintln(out, "Stopping the operator and the control plane...")
		for _, f := range slices.Backward(teardown) {
			err = errors.Join(err, f())
		}
		err = errors.Join(err, env.Stop())
		if rmErr := os.Remove(res.Kubeconfig); rmErr != nil && !os.IsNotExist(rmErr) {
			err = errors.Join(err, rmErr)
		}
		if err == nil {
			fmt.Fprintln(out, "Stopped; nothing is left running.")
		}
	}()

	kubeconfig, err := os.ReadFile(env.Kubeconfig)
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(res.Kubeconfig, kubeconfig, 0o600); err != nil {
		return res, fmt.Errorf("writing the kubeconfig: %w", err)
	}

	// Setup uses its own context: an interrupt must not leave half-created objects behind a failed teardown.
	setupCtx, cancelSetup := context.WithTimeout(context.Background(), time.Minute)
	defer cancelSetup()
	if err := install(setupCtx, env); err != nil {
		return res, err
	}

	// The operator, wired exactly as the manager binary wires it.
	source := newServers(loadsource.NewSynthetic(o.Day, o.PeakRate), env.Client, o.ProfileWindow)
	registry := prometheus.NewRegistry()
	metrics := controller.NewMetrics()
	if err := metrics.Register(registry); err != nil {
		return res, err
	}
	mgrDone, stopOperator, err := startOperator(env.Config, source, metrics, o.Logger)
	if err != nil {
		return res, err
	}
	teardown = append(teardown, func() error {
		stopOperator()
		return <-mgrDone
	})

	metricsURL, stopMetrics, err := serveMetrics(registry)
	if err != nil {
		return res, err
	}
	teardown = append(teardown, stopMetrics)

	kubectl := filepath.Join(assets, "kubectl") + " --kubeconfig " + res.Kubeconfig
	instructions := strings.Join([]string{
		"",
		"The operator is running. In another terminal:",
		"  " + kubectl + " get va -A",
		"  " + kubectl + " get va -n " + Namespace + " -o wide --watch",
		"  " + kubectl + " edit va llama-8b-l40s -n " + Namespace + "    (e.g. set spec.maxReplicas: 0)",
		"  " + kubectl + " describe va llama-70b-h100 -n " + Namespace,
		"  " + kubectl + " get events -n " + Namespace,
		"  curl -s " + metricsURL + " | grep '^wva_'",
	}, "\n") + "\n"
	if o.LogPath != "" {
		instructions += "Operator log: " + o.LogPath + "\n"
	}
	if o.Duration > 0 {
		instructions += fmt.Sprintf("The demo stops by itself after %s; Ctrl-C stops it earlier.\n", o.Duration)
	} else {
		instructions += "Ctrl-C stops the demo and removes the control plane.\n"
	}
	fmt.Fprint(out, instructions)

	rate := func(k modelgroup.Key) float64 { return source.Rate(k, time.Now()) }
	started := time.Now()
	show := func(final bool) []Row {
		readCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs, err := rows(readCtx, env.Client, Namespace, rate)
		if err != nil {
			fmt.Fprintf(out, "reading the variants: %v\n", err)
			return nil
		}
		elapsed := time.Since(started).Round(time.Second)
		header := fmt.Sprintf("variant-autoscaler demo | simulated time of day %s (a day lasts %s) | running %s",
			clockOfDay(time.Now(), o.Day), o.Day, elapsed)
		if o.Duration > 0 && !final {
			header += fmt.Sprintf(", stops in %s", (o.Duration - elapsed).Round(time.Second))
		}
		if o.Clear && !final {
			fmt.Fprint(out, "\033[H\033[2J")
		}
		fmt.Fprintln(out)
		pools := ""
		if usage, err := cluster.Usage(readCtx, env.Client); err == nil {
			pools = poolLine(usage)
		}
		printTable(out, header, rs, pools)
		if o.Clear && !final {
			fmt.Fprint(out, instructions)
		}
		return rs
	}

	var deadline <-chan time.Time
	if o.Duration > 0 {
		timer := time.NewTimer(o.Duration)
		defer timer.Stop()
		deadline = timer.C
	}
	ticker := time.NewTicker(o.Refresh)
	defer ticker.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			res.Interrupted = true
			break loop
		case <-deadline:
			break loop
		case err := <-mgrDone:
			// Put the result back for the teardown, which waits for it.
			mgrDone <- err
			return res, fmt.Errorf("the operator stopped unexpectedly: %v", err)
		case <-ticker.C:
			show(false)
		}
	}
	res.Rows = show(true)
	if res.Interrupted {
		return res, nil
	}
	return res, checkDecided(out, res.Rows)
}

// install creates the namespaces, the operator's ConfigMaps and the sample
// workloads with their VariantAutoscalings.
func install(ctx context.Context, env *cluster.ControlPlane) error {
	for _, ns := range []string{config.DefaultNamespace, Namespace} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	cms, err := configMaps(cluster.RepoRoot(), config.DefaultNamespace)
	if err != nil {
		return err
	}
	for _, cm := range cms {
		if err := env.Client.Create(ctx, cm); err != nil {
			return fmt.Errorf("creating ConfigMap %s: %w", cm.Name, err)
		}
	}
	for _, v := range variants {
		va, d := v.objects()
		for _, o := range []client.Object{d, va} {
			if err := env.Client.Create(ctx, o); err != nil {
				return fmt.Errorf("creating %T %s: %w", o, o.GetName(), err)
			}
		}
	}
	return nil
}

// startOperator starts a manager with controller.SetupControllers; stop
// cancels it and the channel then yields mgr.Start's result.
func startOperator(cfg *rest.Config, source modelgroup.LoadSource, metrics *controller.Metrics, logger logr.Logger) (chan error, context.CancelFunc, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 50, 100
	mgr, err := manager.New(cfg, manager.Options{
		Scheme:                 cluster.Scheme,
		Cache:                  controller.CacheOptions(config.DefaultNamespace, []string{Namespace}),
		MapperProvider:         controller.NewRESTMapper,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 logger,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the manager: %w", err)
	}
	ctx, cancel := context.WithCancel(log.IntoContext(context.Background(), logger))
	if _, err := controller.SetupControllers(ctx, mgr, controller.Options{
		ConfigNamespace:    config.DefaultNamespace,
		Store:              config.NewStore(nil),
		Load:               source,
		Actuation:          controller.ActuationScale,
		Metrics:            metrics,
		SkipNameValidation: true,
	}); err != nil {
		cancel()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	return done, cancel, nil
}

// serveMetrics serves the operator's series on a free local port.
func serveMetrics(registry *prometheus.Registry) (string, func() error, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listening for metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/metrics", srv.Close, nil
}

// checkDecided reports an error unless every sample variant has desired replicas.
func checkDecided(out io.Writer, rs []Row) error {
	decided := map[string]bool{}
	for _, r := range rs {
		if r.Desired != nil {
			decided[r.Variant] = true
		}
	}
	var missing []string
	for _, name := range VariantNames() {
		if !decided[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no desired replicas were computed for %d of %d variants: %s",
			len(missing), len(variants), strings.Join(missing, ", "))
	}
	fmt.Fprintf(out, "OK: desired replicas were computed for all %d variants.\n", len(variants))
	return nil
}

func hostOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return rawURL
	}
	return u.Host
}
