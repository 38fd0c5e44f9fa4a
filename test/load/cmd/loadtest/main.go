// Command loadtest compares the product's sharded operator with the global
// baselines on envtest clusters of N VariantAutoscalings and writes a JSON,
// Markdown and PNG report. `make loadtest` builds and runs it; see
// docs/performance.md.
//
// Each (strategy, N) runs in a child process of its own (this binary with
// -child), so that its CPU time and peak RSS are its own and a run that
// exceeds its time box can be stopped without losing the others.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/test/load/harness"
	"github.com/llm-d/variant-autoscaler/test/load/report"
)

type options struct {
	ns              []int
	strategies      []string
	scenarios       []string
	variants        int
	groups          int
	namespaces      int
	out             string
	timebox         time.Duration
	steady          time.Duration
	quiet           time.Duration
	qps             float64
	foreignRate     float64
	operatorAsAdmin bool
	burst           int
	workers         int
	statusWriters   int
	maxInflight     int
	maxMutating     int
	replicas        int
	gpusPerNode     int
	controllerQPS   float64
	controllerSyncs int
	pprof           string
	merge           bool
	from            string
	child           bool
	result          string
	commandOverride string
}

// env returns the environment variable's value or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(env(name, "")); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(env(name, "")); err == nil {
		return v
	}
	return def
}

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	var o options
	nList := fs.String("n", env("LOADTEST_N", "500,1000,5000"), "comma-separated numbers of VAs (env LOADTEST_N); 10000 on request")
	strategies := fs.String("strategies", env("LOADTEST_STRATEGIES", strings.Join(harness.AllStrategies, ",")),
		"comma-separated strategies: "+strings.Join(harness.AllStrategies, ", ")+" (env LOADTEST_STRATEGIES)")
	scenarios := fs.String("scenarios", env("LOADTEST_SCENARIOS", "all"),
		"comma-separated scenarios or all: "+strings.Join(harness.AllScenarios, ", ")+" (env LOADTEST_SCENARIOS)")
	fs.IntVar(&o.variants, "variants-per-group", envInt("LOADTEST_VARIANTS_PER_GROUP", 4), "VAs per model group (env LOADTEST_VARIANTS_PER_GROUP)")
	fs.IntVar(&o.groups, "groups", envInt("LOADTEST_GROUPS", 0), "model groups; 0: N / variants-per-group (env LOADTEST_GROUPS)")
	fs.IntVar(&o.namespaces, "namespaces", envInt("LOADTEST_NAMESPACES", 10), "namespaces the groups are spread over (env LOADTEST_NAMESPACES)")
	fs.StringVar(&o.out, "out", env("LOADTEST_OUT", "test/load/out"), "report folder (env LOADTEST_OUT)")
	fs.DurationVar(&o.timebox, "timebox", envDuration("LOADTEST_TIMEBOX", 10*time.Minute), "time box of each phase; a phase over it reports lower bounds and ends its run (env LOADTEST_TIMEBOX)")
	fs.DurationVar(&o.steady, "steady-interval", envDuration("LOADTEST_STEADY_INTERVAL", 30*time.Second), "GLOBAL_OPT_INTERVAL and window of the steady scenario (env LOADTEST_STEADY_INTERVAL)")
	fs.DurationVar(&o.quiet, "quiet", 2*time.Second, "how long the operator must stay idle to count as done")
	fs.Float64Var(&o.qps, "kube-api-qps", 50, "the operator client's QPS (the manager binary's default); -1: no client-side limiter")
	fs.BoolVar(&o.operatorAsAdmin, "operator-as-admin", false, "run the operator and the foreign client as the admin user, whom API Priority and Fairness exempts (default: the manager's ServiceAccount with config/rbac and config/apf, and an ordinary user)")
	fs.Float64Var(&o.foreignRate, "foreign-rate", 20, "requests per second of a foreign client during the change of every group (cost-change-all) and before it; -1: off")
	fs.IntVar(&o.burst, "kube-api-burst", 100, "the operator client's burst (the manager binary's default)")
	fs.IntVar(&o.workers, "workers", 4, "MaxConcurrentReconciles of every strategy (the product's default)")
	fs.IntVar(&o.statusWriters, "status-writers", controller.DefaultStatusWriters, "status writers of the sharded operator (the manager's --status-writers; the product's default)")
	fs.IntVar(&o.maxInflight, "max-requests-inflight", 3000, "kube-apiserver --max-requests-inflight")
	fs.IntVar(&o.maxMutating, "max-mutating-requests-inflight", 1500, "kube-apiserver --max-mutating-requests-inflight")
	fs.IntVar(&o.replicas, "replicas", envInt("LOADTEST_REPLICAS", 0), "spec.replicas of every VA's Deployment; 0: 1 and 2 alternately (env LOADTEST_REPLICAS)")
	fs.IntVar(&o.gpusPerNode, "gpus-per-node", envInt("LOADTEST_GPUS_PER_NODE", 64), "GPUs of each fake kwok node; the pools are sized to hold every pod plus 10% (env LOADTEST_GPUS_PER_NODE)")
	fs.Float64Var(&o.controllerQPS, "controller-qps", 1000, "client QPS of kube-controller-manager and kube-scheduler (burst twice that)")
	fs.IntVar(&o.controllerSyncs, "controller-syncs", 50, "kube-controller-manager's workers per controller (--concurrent-deployment-syncs and --concurrent-replicaset-syncs)")
	fs.StringVar(&o.pprof, "pprof", env("LOADTEST_PPROF", ""), "folder that receives a CPU profile (<strategy>-<N>.pprof) and a heap profile (<strategy>-<N>.heap.pprof) of each run (env LOADTEST_PPROF)")
	fs.BoolVar(&o.merge, "merge", env("LOADTEST_MERGE", "") == "true", "add to the runs of <out>/results.json instead of starting a new report (env LOADTEST_MERGE=true)")
	fs.StringVar(&o.from, "from", "", "only rewrite the Markdown and plots from this results.json")
	fs.BoolVar(&o.child, "child", false, "internal: run one (strategy, N) and write its result to -result")
	fs.StringVar(&o.result, "result", "", "internal: where the child writes its result")
	fs.StringVar(&o.commandOverride, "command", env("LOADTEST_COMMAND", ""), "the command to record in the report (default: this command line)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var err error
	if o.ns, err = parseInts(*nList); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: -n:", err)
		return 2
	}
	o.strategies = split(*strategies)
	for _, s := range o.strategies {
		if !slices.Contains(harness.AllStrategies, s) {
			fmt.Fprintf(os.Stderr, "loadtest: unknown strategy %q (known: %s)\n", s, strings.Join(harness.AllStrategies, ", "))
			return 2
		}
	}
	if *scenarios != "all" {
		o.scenarios = split(*scenarios)
		for _, s := range o.scenarios {
			if !slices.Contains(harness.AllScenarios, s) {
				fmt.Fprintf(os.Stderr, "loadtest: unknown scenario %q (known: %s)\n", s, strings.Join(harness.AllScenarios, ", "))
				return 2
			}
		}
	}

	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		// What `make envtest-bins` builds; the Makefile exports it too.
		if home, err := os.UserHomeDir(); err == nil {
			dir := filepath.Join(home, ".cache", "variant-autoscaler", "envtest", "1.37.2")
			if _, err := os.Stat(filepath.Join(dir, "kube-apiserver")); err == nil {
				_ = os.Setenv("KUBEBUILDER_ASSETS", dir)
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch {
	case o.from != "":
		return rewrite(o)
	case o.child:
		return child(ctx, o)
	}
	return parent(ctx, o, args)
}

func (o options) harnessOptions(strategy string, n int) harness.Options {
	return harness.Options{
		Shape:           harness.Shape{N: n, Groups: o.groups, VariantsPerGroup: o.variants, Namespaces: o.namespaces, Replicas: int32(o.replicas)},
		Strategy:        strategy,
		Scenarios:       o.scenarios,
		SteadyInterval:  o.steady,
		Quiet:           o.quiet,
		Timebox:         o.timebox,
		KubeAPIQPS:      float32(o.qps),
		KubeAPIBurst:    o.burst,
		ForeignRate:     o.foreignRate,
		OperatorAsAdmin: o.operatorAsAdmin,
		Workers:         o.workers,
		StatusWriters:   o.statusWriters,
		APIServerFlags:  o.apiServerFlags(),
		GPUsPerNode:     o.gpusPerNode,
		ControllerQPS:   float32(o.controllerQPS),
		ControllerSyncs: o.controllerSyncs,
		Progress:        os.Stderr,
		Log:             os.Stderr,
	}
}

func (o options) apiServerFlags() map[string]string {
	return map[string]string{
		"max-requests-inflight":          strconv.Itoa(o.maxInflight),
		"max-mutating-requests-inflight": strconv.Itoa(o.maxMutating),
	}
}

// child runs one (strategy, N) and writes its result.
func child(ctx context.Context, o options) int {
	if len(o.ns) != 1 || len(o.strategies) != 1 || o.result == "" {
		fmt.Fprintln(os.Stderr, "loadtest -child needs one -n, one -strategies and -result")
		return 2
	}
	// GOMEMLIMIT and GOGC, when set, are for this process (the runtime has
	// read them); the control plane it starts must not inherit them.
	for _, v := range []string{"GOMEMLIMIT", "GOGC"} {
		_ = os.Unsetenv(v)
	}
	hopts := o.harnessOptions(o.strategies[0], o.ns[0])
	if o.pprof != "" {
		if err := os.MkdirAll(o.pprof, 0o755); err == nil {
			hopts.CPUProfile = filepath.Join(o.pprof, fmt.Sprintf("%s-%d.pprof", o.strategies[0], o.ns[0]))
			hopts.HeapProfile = filepath.Join(o.pprof, fmt.Sprintf("%s-%d.heap.pprof", o.strategies[0], o.ns[0]))
		}
	}
	res, err := harness.Run(ctx, hopts)
	data, merr := json.MarshalIndent(res, "", "  ")
	if merr != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", merr)
		return 1
	}
	if werr := os.WriteFile(o.result, data, 0o644); werr != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", werr)
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	return 0
}

// parent runs every (strategy, N) in a child process and writes the report
// after each, so an interrupted invocation keeps what it measured.
func parent(ctx context.Context, o options, args []string) int {
	rep := &report.Report{}
	if o.merge {
		if old, err := report.Read(filepath.Join(o.out, report.JSONFile)); err == nil {
			rep = old
		}
	}
	rep.Meta = meta(o, args, rep.Meta)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "loadtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	ns := slices.Clone(o.ns)
	slices.Sort(ns)
	code := 0
	for _, n := range ns {
		for _, s := range o.strategies {
			if ctx.Err() != nil {
				return 130
			}
			fmt.Fprintf(os.Stderr, "\n=== %s, N=%d\n", s, n)
			res := runChild(ctx, o, self, tmp, s, n)
			if res.Error != "" {
				fmt.Fprintf(os.Stderr, "loadtest: %s N=%d: %s\n", s, n, res.Error)
				code = 1
			}
			rep.Put(res)
			rep.Meta.Finished = time.Now()
			rep.Meta.LoadAverageAtEnd = loadAverage()
			paths, err := report.Write(o.out, rep)
			if err != nil {
				fmt.Fprintln(os.Stderr, "loadtest: writing the report:", err)
				code = 1
			}
			if n == ns[len(ns)-1] && s == o.strategies[len(o.strategies)-1] {
				fmt.Fprintf(os.Stderr, "\nReport:\n")
				for _, p := range paths {
					fmt.Fprintf(os.Stderr, "  %s\n", p)
				}
			}
		}
	}
	return code
}

// runChild runs one child with a deadline that covers every phase's time box.
func runChild(ctx context.Context, o options, self, tmp, strategy string, n int) *harness.Result {
	phases := len(o.scenarios)
	if phases == 0 {
		phases = len(harness.AllScenarios)
	}
	limit := time.Duration(phases+3)*o.timebox + 10*time.Minute + time.Duration(n)*50*time.Millisecond
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	resultPath := filepath.Join(tmp, fmt.Sprintf("%s-%d.json", strategy, n))
	args := []string{"-child", "-result", resultPath, "-n", strconv.Itoa(n), "-strategies", strategy,
		"-variants-per-group", strconv.Itoa(o.variants), "-groups", strconv.Itoa(o.groups), "-namespaces", strconv.Itoa(o.namespaces),
		"-out", o.out, "-timebox", o.timebox.String(), "-steady-interval", o.steady.String(), "-quiet", o.quiet.String(),
		"-kube-api-qps", strconv.FormatFloat(o.qps, 'g', -1, 64), "-kube-api-burst", strconv.Itoa(o.burst),
		"-foreign-rate", strconv.FormatFloat(o.foreignRate, 'g', -1, 64),
		"-operator-as-admin=" + strconv.FormatBool(o.operatorAsAdmin),
		"-workers", strconv.Itoa(o.workers), "-status-writers", strconv.Itoa(o.statusWriters), "-max-requests-inflight", strconv.Itoa(o.maxInflight),
		"-max-mutating-requests-inflight", strconv.Itoa(o.maxMutating), "-pprof=" + o.pprof,
		"-replicas", strconv.Itoa(o.replicas), "-gpus-per-node", strconv.Itoa(o.gpusPerNode),
		"-controller-qps", strconv.FormatFloat(o.controllerQPS, 'g', -1, 64), "-controller-syncs", strconv.Itoa(o.controllerSyncs)}
	if len(o.scenarios) > 0 {
		args = append(args, "-scenarios", strings.Join(o.scenarios, ","))
	} else {
		args = append(args, "-scenarios", "all")
	}
	cmd := exec.CommandContext(cctx, self, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	runErr := cmd.Run()
	var res harness.Result
	data, err := os.ReadFile(resultPath)
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err != nil {
		res = harness.Result{Strategy: strategy, N: n}
		res.Error = fmt.Sprintf("the run left no result: %v", errors.Join(runErr, err))
		if cctx.Err() != nil {
			res.Error = fmt.Sprintf("the run exceeded its overall limit of %s", limit)
		}
	}
	return &res
}

// rewrite regenerates the Markdown and the plots from a results.json.
func rewrite(o options) int {
	rep, err := report.Read(o.from)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	paths, err := report.Write(filepath.Dir(o.from), rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		return 1
	}
	for _, p := range paths {
		fmt.Fprintln(os.Stderr, p)
	}
	return 0
}

func meta(o options, args []string, prev report.Meta) report.Meta {
	m := report.Meta{
		Command:     o.commandOverride,
		Started:     time.Now(),
		GoVersion:   runtime.Version(),
		Platform:    runtime.GOOS + "/" + runtime.GOARCH,
		CPUs:        runtime.NumCPU(),
		MemoryGiB:   memoryGiB(),
		LoadAverage: loadAverage(),
		ControlPlane: "kube-apiserver, etcd, kube-controller-manager (deployment, replicaset controllers) and kube-scheduler of Kubernetes 1.37.2, " +
			"kwok v0.8.0 playing the kubelets of fake GPU nodes (built from source by make envtest-bins)",
		APIServerFlags: o.apiServerFlags(),
	}
	if m.Command == "" {
		// Go runtime variables go before the command, LOADTEST_* after it
		// (make variables) or before it (bin/loadtest's environment).
		var runtimeVars, vars []string
		for _, kv := range os.Environ() {
			name, value, _ := strings.Cut(kv, "=")
			if strings.ContainsAny(value, " \t'\"") {
				value = "'" + value + "'"
			}
			switch {
			case name == "GOMEMLIMIT" || name == "GOGC" || name == "GOMAXPROCS":
				runtimeVars = append(runtimeVars, name+"="+value)
			case strings.HasPrefix(name, "LOADTEST_") && name != "LOADTEST_COMMAND" && name != "LOADTEST_MAKE":
				vars = append(vars, name+"="+value)
			}
		}
		slices.Sort(runtimeVars)
		slices.Sort(vars)
		words := runtimeVars
		if os.Getenv("LOADTEST_MAKE") == "1" {
			// The Makefile runs the binary with $(LOADTEST_FLAGS) as args.
			words = append(append(words, "make", "loadtest"), vars...)
		} else {
			words = append(append(append(words, vars...), "bin/loadtest"), args...)
		}
		m.Command = strings.Join(words, " ")
	}
	if o.merge && !prev.Started.IsZero() {
		// Keep the first invocation's start; list every command.
		m.Started = prev.Started
		if prev.Command != "" && prev.Command != m.Command {
			m.Command = prev.Command + "` then `" + m.Command
		}
	}
	return m
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func memoryGiB() float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(line, "MemTotal:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / (1 << 20)
			}
		}
	}
	return 0
}

func split(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, p := range split(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("no N given")
	}
	return out, nil
}
