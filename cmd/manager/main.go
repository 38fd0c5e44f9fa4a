// Command manager runs the variant-autoscaler operator: it sizes every variant
// of an LLM inference service (one VariantAutoscaling per Deployment) from the
// model's load and latency SLOs, one model group at a time.
//
// Run `manager --help` for the flags.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"
	crconfig "sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/externalmetrics"
	"github.com/llm-d/variant-autoscaler/loadsource"
)

// leaderElectionID names the Lease the replicas of the manager compete for.
const leaderElectionID = "variant-autoscaler.llmd.ai"

// exitUsage is the exit code of a command line that does not validate.
const exitUsage = 2

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stderr))
}

// options are the manager's command-line settings.
type options struct {
	metricsAddr             string
	metricsSecure           bool
	metricsCertDir          string
	enableHTTP2             bool
	probeAddr               string
	pprofAddr               string
	leaderElect             bool
	leaderElectionNamespace string
	watchNamespaces         string
	configNamespace         string
	actuation               string
	dryRun                  bool
	maxConcurrentReconciles int
	statusWriters           int
	kubeAPIQPS              float64
	kubeAPIBurst            int
	loadSource              string
	syntheticDay            time.Duration
	syntheticPeakRate       float64
	profileWindow           time.Duration
	profileMemory           time.Duration
	// profileForgetting is derived from the two by validate.
	profileForgetting      float64
	externalMetricsAddr    string
	externalMetricsCertDir string
	maxReplicasPerVariant  int
	allowInsecureCreds     bool
	allowInsecureGWCreds   bool
	requireTargetOptIn     bool
	memoryLimitRatio       float64
	gcPercent              int
	zap                    zap.Options

	// Filled in by validate.
	watchNamespaceList []string
}

// bindFlags registers every flag of the manager on fs, including
// --kubeconfig (controller-runtime's) and the zap logging flags.
func bindFlags(fs *flag.FlagSet) *options {
	o := &options{zap: zap.Options{}}
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to, e.g. :8443 or 127.0.0.1:8080; \"0\" disables it.")
	fs.BoolVar(&o.metricsSecure, "metrics-secure", true,
		"Serve metrics over HTTPS, authenticating (TokenReview) and authorizing (SubjectAccessReview) every scrape. "+
			"Set to false for plain HTTP without authentication.")
	fs.StringVar(&o.metricsCertDir, "metrics-cert-dir", "",
		"Folder with tls.crt and tls.key for the metrics endpoint; empty: a self-signed certificate made at start.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics endpoint (off by default: HTTP/2 stream resets are a known denial-of-service vector).")
	fs.StringVar(&o.externalMetricsAddr, "external-metrics-bind-address", "0",
		"Address to serve wva_desired_replicas on the external metrics API (external.metrics.k8s.io, for a plain HPA; see config/externalmetrics), e.g. :6443; \"0\" (the default) disables it.")
	fs.StringVar(&o.externalMetricsCertDir, "external-metrics-cert-dir", "",
		"Folder with tls.crt and tls.key for the external metrics endpoint; default a self-signed certificate.")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		"Address of the /healthz (liveness) and /readyz (readiness) endpoints; \"0\" disables them.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address of Go's /debug/pprof profiles (CPU, heap), e.g. 127.0.0.1:6060; \"0\" (the default) disables them. "+
			"Unauthenticated: bind it to loopback.")
	fs.Float64Var(&o.memoryLimitRatio, "memory-limit-ratio", 0.9,
		"Set Go's soft memory limit to this fraction of the container's memory limit (cgroup), so that the garbage collector "+
			"works harder near the limit instead of the process being killed; 0 disables it. GOMEMLIMIT, when set, takes precedence.")
	fs.IntVar(&o.gcPercent, "gc-percent", defaultGCPercent,
		"Go's GC target (GOGC): the heap may grow this percent over the live heap between collections. The default keeps "+
			"the manager's memory near its caches for a few percent of a core while it converges; 100 is Go's default. GOGC, when set, takes precedence.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader among the manager's replicas (a Lease); only the leader plans and actuates.")
	fs.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "",
		"Namespace of the leader-election Lease (default: the --config-namespace).")
	fs.StringVar(&o.watchNamespaces, "watch-namespaces", "",
		"Comma-separated namespaces whose VariantAutoscalings and workloads the manager watches (default: all).")
	fs.StringVar(&o.configNamespace, "config-namespace", config.DefaultNamespace,
		"Namespace of the operator's ConfigMaps ("+strings.Join(config.Names(), ", ")+").")
	fs.StringVar(&o.actuation, "actuation", string(controller.ActuationMetrics),
		"How decisions reach workloads: \"metrics\" publishes wva_desired_replicas for an HPA or KEDA; "+
			"\"scale\" patches each target's /scale subresource.")
	fs.BoolVar(&o.dryRun, "dry-run", false,
		"Decide and report (status, Events, logs) but never actuate: no wva_desired_replicas series, no /scale writes.")
	fs.IntVar(&o.maxConcurrentReconciles, "max-concurrent-reconciles", 4,
		"Number of model groups planned at once.")
	fs.IntVar(&o.statusWriters, "status-writers", controller.DefaultStatusWriters,
		"Number of VariantAutoscaling status writes in flight at once; they run apart from planning, "+
			"so a group's actuation never waits for them.")
	fs.Float64Var(&o.kubeAPIQPS, "kube-api-qps", 50,
		"Sustained queries per second to the Kubernetes API server, per resource type; "+
			"-1 turns the client-side limiter off and leaves the pace to the API server's "+
			"Priority and Fairness (see config/apf).")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 100,
		"Burst of queries to the Kubernetes API server (ignored with --kube-api-qps=-1).")
	fs.StringVar(&o.loadSource, "load-source", defaultLoadSource,
		"Where each model's load comes from: "+loadSourceHelp()+".")
	fs.DurationVar(&o.profileWindow, "profile-window", loadsource.DefaultProfileWindow,
		"With --load-source=prometheus, the length of the per-pod windows the profiles are learned from, read once per window "+
			"so that they do not overlap; it must span two scrapes of the servers or more. Shorter windows learn sooner and pin the prefill "+
			"parameters better, longer ones average more requests (docs/learned-profiles.md); from 1m to 1h.")
	fs.DurationVar(&o.profileMemory, "profile-memory", estimator.DefaultMemory,
		"How long a learned profile remembers the data of a server, whatever --profile-window: shorter follows a server whose speed "+
			"drifts sooner, longer averages more windows. At least 5 profile windows, at most 24h.")
	fs.DurationVar(&o.syntheticDay, "synthetic-day", 10*time.Minute,
		"With --load-source=synthetic: the length of one simulated day.")
	fs.Float64Var(&o.syntheticPeakRate, "synthetic-peak-rate", 20,
		"With --load-source=synthetic: the highest base request rate of any model, requests per second.")
	fs.IntVar(&o.maxReplicasPerVariant, "max-replicas-per-variant", 0,
		"Operator-wide ceiling of one variant's replicas, whatever spec.maxReplicas says (1 to 10000); "+
			"overrides MAX_REPLICAS_PER_VARIANT. 0: the ConfigMap's value, default 100.")
	fs.BoolVar(&o.allowInsecureCreds, "prometheus-allow-insecure-credentials", false,
		"Allow sending the Prometheus token over plain http:// or without verifying the server certificate. For tests only.")
	fs.BoolVar(&o.allowInsecureGWCreds, "gateway-allow-insecure-credentials", false,
		"Allow sending the endpoint pickers' token (GATEWAY_TOKEN_PATH, GATEWAY_BEARER_TOKEN) over plain http:// or without verifying the server certificate. For tests only.")
	fs.BoolVar(&o.requireTargetOptIn, "require-target-opt-in", true,
		"With --actuation=scale, scale only workloads annotated "+llmdv1alpha1.AnnotationScaledBy+" with the VA's name (or \"*\"), "+
			"so that creating a VA never lets anyone scale a workload they could not scale themselves.")
	crconfig.RegisterFlags(fs)
	o.zap.BindFlags(fs)
	fs.Usage = func() { usage(fs) }
	return o
}

func usage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintf(w, `Usage: manager [flags]

Runs the variant-autoscaler operator. It watches VariantAutoscalings (llmd.ai/v1alpha1)
and their workloads, plans each model group (all variants of one model in one namespace)
against the model's SLOs at the lowest cost, writes each VA's status and applies the
decision (see --actuation).

The operator reads its ConfigMaps from --config-namespace. Environment variables named
like keys of %s override them:
%s

Flags:
`, config.OperatorConfigMapName, wrap(config.OperatorKeys(), "  ", 88))
	fs.PrintDefaults()
}

// wrap joins words with ", " into lines of at most width characters.
func wrap(words []string, indent string, width int) string {
	var b strings.Builder
	line := indent
	for i, w := range words {
		if i < len(words)-1 {
			w += ","
		}
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	return b.String() + line
}

// validate checks the flags and fills in derived values; the error lists
// every problem.
func (o *options) validate(args []string) error {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	if len(args) > 0 {
		add("unexpected arguments %q: the manager takes flags only", args)
	}
	if err := checkBindAddress(o.metricsAddr); err != nil {
		add("--metrics-bind-address: %v", err)
	}
	if err := checkBindAddress(o.externalMetricsAddr); err != nil {
		add("--external-metrics-bind-address: %v", err)
	}
	if err := checkBindAddress(o.pprofAddr); err != nil {
		add("--pprof-bind-address: %v", err)
	}
	if err := checkBindAddress(o.probeAddr); err != nil {
		add("--health-probe-bind-address: %v", err)
	}
	if errs := validation.IsDNS1123Label(o.configNamespace); len(errs) > 0 {
		add("--config-namespace %q is not a valid namespace name: %s", o.configNamespace, strings.Join(errs, "; "))
	}
	if o.leaderElectionNamespace == "" {
		o.leaderElectionNamespace = o.configNamespace
	} else if errs := validation.IsDNS1123Label(o.leaderElectionNamespace); len(errs) > 0 {
		add("--leader-election-namespace %q is not a valid namespace name: %s", o.leaderElectionNamespace, strings.Join(errs, "; "))
	}
	o.watchNamespaceList = nil
	seen := map[string]bool{}
	for ns := range strings.SplitSeq(o.watchNamespaces, ",") {
		ns = strings.TrimSpace(ns)
		if ns == "" || seen[ns] {
			continue
		}
		seen[ns] = true
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			add("--watch-namespaces: %q is not a valid namespace name: %s", ns, strings.Join(errs, "; "))
			continue
		}
		o.watchNamespaceList = append(o.watchNamespaceList, ns)
	}
	switch controller.Actuation(o.actuation) {
	case controller.ActuationMetrics, controller.ActuationScale:
	default:
		add("--actuation %q: must be %q or %q", o.actuation, controller.ActuationMetrics, controller.ActuationScale)
	}
	if o.maxConcurrentReconciles < 1 {
		add("--max-concurrent-reconciles %d: must be at least 1", o.maxConcurrentReconciles)
	}
	if o.statusWriters < 1 {
		add("--status-writers %d: must be at least 1", o.statusWriters)
	}
	if !(o.kubeAPIQPS > 0 || o.kubeAPIQPS == -1) {
		add("--kube-api-qps %v: must be greater than 0, or -1 (no client-side limiter)", o.kubeAPIQPS)
	}
	if o.kubeAPIQPS > 0 && o.kubeAPIBurst < 1 {
		add("--kube-api-burst %d: must be at least 1", o.kubeAPIBurst)
	}
	if _, ok := loadSources[o.loadSource]; !ok {
		add("--load-source %q: must be one of %s", o.loadSource, strings.Join(loadSourceNames(), ", "))
	}
	if o.syntheticDay <= 0 {
		add("--synthetic-day %v: must be greater than 0", o.syntheticDay)
	}
	if o.maxReplicasPerVariant != 0 && (o.maxReplicasPerVariant < 1 || o.maxReplicasPerVariant > llmdv1alpha1.MaxReplicasLimit) {
		add("--max-replicas-per-variant %d: must be from 1 to %d (or 0 for the ConfigMap's value)", o.maxReplicasPerVariant, llmdv1alpha1.MaxReplicasLimit)
	}
	if !(o.memoryLimitRatio >= 0 && o.memoryLimitRatio <= 1) {
		add("--memory-limit-ratio %v: must be from 0 (off) to 1", o.memoryLimitRatio)
	}
	if o.gcPercent < 10 || o.gcPercent > 1000 {
		add("--gc-percent %d: must be from 10 to 1000", o.gcPercent)
	}
	if o.profileWindow < minProfileWindow || o.profileWindow > maxProfileWindow {
		add("--profile-window %v: must be from %v to %v", o.profileWindow, minProfileWindow, maxProfileWindow)
	}
	var err error
	if o.profileForgetting, err = estimator.ForgettingFor(o.profileWindow, o.profileMemory); err != nil || o.profileMemory > maxProfileMemory {
		add("--profile-memory %v: must be from 5 profile windows (%v) to %v", o.profileMemory, 5*o.profileWindow, maxProfileMemory)
	}
	if !(o.syntheticPeakRate >= 0) {
		add("--synthetic-peak-rate %v: must be at least 0", o.syntheticPeakRate)
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "\n  "))
	}
	return nil
}

// checkBindAddress accepts "0" (disabled) or host:port with a numeric port.
func checkBindAddress(addr string) error {
	if addr == "0" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. :8443) or \"0\": %v", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	return nil
}

// run parses the command line, starts the manager and blocks until a signal;
// it returns the process's exit code.
func run(args, environ []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		// The flag package has printed the error and the usage.
		return exitUsage
	}
	if err := o.validate(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "manager: invalid command line:\n  %v\nRun 'manager --help' for the flags.\n", err)
		return exitUsage
	}

	logger := zap.New(zap.UseFlagOptions(&o.zap))
	ctrl.SetLogger(logger)
	klog.SetLogger(logger.WithName("client-go"))
	setupLog := logger.WithName("setup")

	if limit, err := cgroupMemoryLimit("/sys/fs/cgroup"); err != nil {
		setupLog.Error(err, "No Go memory limit set")
	} else if soft := softMemoryLimit(o.memoryLimitRatio, limit, environ); soft > 0 {
		debug.SetMemoryLimit(soft)
		setupLog.Info("Go soft memory limit set", "bytes", soft, "cgroupLimit", limit, "ratio", o.memoryLimitRatio)
	}
	if percent, ok := gcPercent(o.gcPercent, environ); ok {
		debug.SetGCPercent(percent)
	}

	ctx := ctrl.SetupSignalHandler()
	if err := start(ctx, o, environ); err != nil {
		setupLog.Error(err, "The manager stopped with an error")
		return 1
	}
	setupLog.Info("The manager stopped")
	return 0
}

func newScheme() (*k8sruntime.Scheme, error) {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := llmdv1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// start builds the manager from validated options and runs it until ctx ends.
func start(ctx context.Context, o *options, environ []string) error {
	log := ctrl.Log.WithName("setup")
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("finding the Kubernetes API server (use --kubeconfig outside a cluster): %w", err)
	}
	// A negative QPS makes client-go build no token bucket (rest.RESTClientFor):
	// the API server's Priority and Fairness is then the only limit.
	restCfg.QPS, restCfg.Burst = float32(o.kubeAPIQPS), o.kubeAPIBurst
	scheme, err := newScheme()
	if err != nil {
		return err
	}

	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.metricsSecure}
	if !o.enableHTTP2 {
		metricsOpts.TLSOpts = append(metricsOpts.TLSOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	if o.metricsSecure {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
		if o.metricsCertDir != "" {
			metricsOpts.CertDir = o.metricsCertDir
		}
	}

	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                        scheme,
		Cache:                         controller.CacheOptions(o.configNamespace, o.watchNamespaceList),
		MapperProvider:                controller.NewRESTMapper,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              leaderElectionID,
		LeaderElectionNamespace:       o.leaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	// One store for the whole process: the controllers write it, the load
	// source reads it and subscribes to its changes.
	env := operatorEnv(o, environ)
	// Issue 12: an invalid environment override stops the start, naming it.
	if _, err := config.ParseOperatorConfig(nil, env); err != nil {
		return fmt.Errorf("an environment variable (or flag) overriding %s is invalid: %w", config.OperatorConfigMapName, err)
	}
	store := config.NewStore(env)
	load, err := loadSources[o.loadSource].build(o, loadDeps{Store: store, Manager: mgr})
	if err != nil {
		return fmt.Errorf("--load-source=%s: %w", o.loadSource, err)
	}
	op, err := controller.SetupControllers(ctx, mgr, controller.Options{
		ConfigNamespace:         o.configNamespace,
		Store:                   store,
		Load:                    load,
		Actuation:               controller.Actuation(o.actuation),
		DryRun:                  o.dryRun,
		MaxConcurrentReconciles: o.maxConcurrentReconciles,
		StatusWriters:           o.statusWriters,
		RequireTargetOptIn:      o.requireTargetOptIn,
		ProfileForgetting:       o.profileForgetting,
	})
	if err != nil {
		return fmt.Errorf("setting up the controllers: %w", err)
	}
	if o.externalMetricsAddr != "0" {
		if err := mgr.Add(externalMetricsServer{opts: externalmetrics.Options{
			BindAddress: o.externalMetricsAddr, CertDir: o.externalMetricsCertDir, Config: mgr.GetConfig(),
		}, desired: op.Metrics.DesiredReplicas}); err != nil {
			return fmt.Errorf("adding the external metrics endpoint: %w", err)
		}
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding the liveness check: %w", err)
	}
	if err := mgr.AddReadyzCheck("informers", informersSynced(mgr)); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}

	log.Info("Starting the manager",
		"configNamespace", o.configNamespace, "watchNamespaces", o.watchNamespaceList,
		"actuation", o.actuation, "dryRun", o.dryRun, "loadSource", o.loadSource,
		"leaderElection", o.leaderElect, "metrics", o.metricsAddr, "metricsSecure", o.metricsSecure)
	return mgr.Start(ctx)
}

// externalMetricsServer serves the operator's decisions on the external
// metrics API. It runs on every replica, leader or not, so the APIService
// stays available; only the leader has values (the others answer with an
// empty list, on which an HPA holds the replicas).
type externalMetricsServer struct {
	opts    externalmetrics.Options
	desired prometheus.Collector
}

func (s externalMetricsServer) Start(ctx context.Context) error {
	return externalmetrics.Run(ctx, s.opts, &externalmetrics.Provider{Desired: s.desired})
}

func (externalMetricsServer) NeedLeaderElection() bool { return false }

// informersSynced is the readiness check: ready once the manager's caches
// hold the watched objects.
func informersSynced(mgr manager.Manager) healthz.Checker {
	return func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !mgr.GetCache().WaitForCacheSync(ctx) {
			return errors.New("the caches have not synced yet")
		}
		return nil
	}
}

// operatorEnv is the environment that overrides variantautoscaling-config:
// the manager's variables named like its keys, and the flags that set keys
// (they win: a flag is the most explicit).
func operatorEnv(o *options, environ []string) map[string]string {
	env := config.OperatorEnv(environ)
	if o.maxReplicasPerVariant > 0 {
		env[config.KeyMaxReplicasPerVariant] = strconv.Itoa(o.maxReplicasPerVariant)
	}
	if o.allowInsecureCreds {
		env[config.KeyPrometheusAllowInsecureCredentials] = "true"
	}
	if o.allowInsecureGWCreds {
		env[config.KeyGatewayAllowInsecureCredentials] = "true"
	}
	return env
}
