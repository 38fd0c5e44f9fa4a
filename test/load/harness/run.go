// Package harness is the load-test harness: it builds a cluster of N
// VariantAutoscalings whose Deployments kube-controller-manager,
// kube-scheduler and kwok run on fake GPU nodes, runs one strategy (the product's sharded
// manager or a global baseline) in this process, plays scenarios from a
// converged cluster and measures each: work done, API requests, time to
// converge, latency, CPU, memory, and the write floor.
package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Options configure one run.
type Options struct {
	Shape
	// Strategy is Sharded, GlobalSingle or GlobalPerVA.
	Strategy string
	// Scenarios to play, in AllScenarios order; empty: all.
	Scenarios []string
	// SteadyInterval is GLOBAL_OPT_INTERVAL during the steady scenario,
	// and its window (default 30s). The other scenarios run with 1h, so no
	// timer fires while they are measured.
	SteadyInterval time.Duration
	// Quiet is how long the operator must stay idle to count as done (default 2s).
	Quiet time.Duration
	// Timebox bounds each phase (default 10m); a phase that exceeds it
	// reports lower bounds and ends the run.
	Timebox time.Duration
	// KubeAPIQPS and KubeAPIBurst of the operator's client (default 50 and
	// 100, the manager binary's defaults).
	KubeAPIQPS   float32
	KubeAPIBurst int
	// Workers is MaxConcurrentReconciles (default 4, the product's default).
	Workers int
	// StatusWriters is the sharded operator's status writers (default
	// controller.DefaultStatusWriters).
	StatusWriters int
	// APIServerFlags are extra kube-apiserver flags (default: raised
	// max-requests-inflight and max-mutating-requests-inflight).
	APIServerFlags map[string]string
	// ForeignRate is the request rate of a foreign client (half GETs, half
	// PATCHes of Secrets) during the change of every group, and during
	// ForeignIdle (default 30 s) before it, with the operator idle (default
	// 20/s; negative: off).
	ForeignRate float64
	ForeignIdle time.Duration
	// FloorVAs is the number of VAs the write floor cycles over (default min(N, 1000)).
	FloorVAs int
	// NoFloor skips the write floor.
	NoFloor bool
	// OperatorAsAdmin runs the operator and the foreign client as the admin
	// user, whom API Priority and Fairness exempts (identity.go); by
	// default they run as the manager's ServiceAccount and an ordinary user.
	OperatorAsAdmin bool
	// GPUsPerNode of kwok's fake nodes (default 64: few nodes, so that
	// their leases do not load the API server); the pools hold every pod
	// with NodeSpare more GPUs (default 0.1).
	GPUsPerNode int
	NodeSpare   float64
	// ControllerQPS is the client QPS of kube-controller-manager and
	// kube-scheduler (burst twice that; default 1000); ControllerSyncs
	// kube-controller-manager's workers per controller (default 50).
	ControllerQPS   float32
	ControllerSyncs int
	// Progress receives text progress bars; Log one line per phase. Nil: silent.
	Progress io.Writer
	Log      io.Writer
	// CPUProfile, when set, is a file that receives a CPU profile of the
	// process from the operator's start to the end of the run.
	CPUProfile string
	// HeapProfile, when set, is a file that receives a heap profile taken
	// after the last phase, with the operator still running.
	HeapProfile string
}

// Scenario names.
const (
	ScenarioSteady      = "steady"
	ScenarioInterval    = "interval-change"
	ScenarioCostQuarter = "cost-change-quarter"
	ScenarioCostAll     = "cost-change-all"
	ScenarioEdit        = "va-edit"
	ScenarioLoad        = "load-change-10pct"
	ScenarioDelete      = "va-delete-1pct"
)

// AllScenarios in the order they are played.
var AllScenarios = []string{
	ScenarioSteady, ScenarioInterval, ScenarioCostQuarter, ScenarioCostAll,
	ScenarioEdit, ScenarioLoad, ScenarioDelete,
}

// ScenarioDescriptions say what each scenario does.
var ScenarioDescriptions = map[string]string{
	ScenarioSteady:      "steady state: one GLOBAL_OPT_INTERVAL with nothing changed",
	ScenarioInterval:    "ConfigMap change of GLOBAL_OPT_INTERVAL (1h to 2h)",
	ScenarioCostQuarter: "unit cost of MI300X +10% (a quarter of the groups have an MI300X variant)",
	ScenarioCostAll:     "unit cost of every accelerator +10% in one ConfigMap update (every group)",
	ScenarioEdit:        "one VA's spec.maxReplicas changed by a merge patch, as kubectl edit does",
	ScenarioLoad:        "load of 10% of the groups +50%",
	ScenarioDelete:      "1% of the VAs deleted",
}

const longInterval = time.Hour

func (o *Options) defaults() {
	o.Shape = o.withDefaults()
	if o.Strategy == "" {
		o.Strategy = Sharded
	}
	if len(o.Scenarios) == 0 {
		o.Scenarios = AllScenarios
	}
	if o.SteadyInterval <= 0 {
		o.SteadyInterval = 30 * time.Second
	}
	if o.Quiet <= 0 {
		o.Quiet = 2 * time.Second
	}
	if o.Timebox <= 0 {
		o.Timebox = 10 * time.Minute
	}
	if o.KubeAPIQPS == 0 {
		o.KubeAPIQPS = 50 // negative: no client-side limiter
	}
	if o.KubeAPIBurst <= 0 {
		o.KubeAPIBurst = 100
	}
	if o.StatusWriters <= 0 {
		o.StatusWriters = controller.DefaultStatusWriters
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.APIServerFlags == nil {
		o.APIServerFlags = map[string]string{
			"max-requests-inflight":          "3000",
			"max-mutating-requests-inflight": "1500",
		}
	}
	if o.ForeignRate == 0 {
		o.ForeignRate = 20
	}
	if o.ForeignIdle <= 0 {
		o.ForeignIdle = 30 * time.Second
	}
	if o.FloorVAs <= 0 {
		o.FloorVAs = min(o.N, 1000)
	}
	if o.GPUsPerNode <= 0 {
		o.GPUsPerNode = 64
	}
	if o.NodeSpare <= 0 {
		o.NodeSpare = 0.1
	}
	if o.ControllerQPS <= 0 {
		o.ControllerQPS = 1000
	}
	if o.ControllerSyncs <= 0 {
		o.ControllerSyncs = 50
	}
}

// runner holds one run's state.
type runner struct {
	opts  Options
	model *Model
	env   *framework.Env
	setup client.WithWatch
	opCfg *rest.Config
	// foreignCfg is the foreign client's identity.
	foreignCfg *rest.Config
	scraper    *apiScraper
	tracker    *Tracker
	floor      *Floor
	load       *loadsource.Memory
	op         operator
	result     *Result
	// actuation times each group's first reconcile after an event (sharded only).
	actuation *actuationClock
	groupOf   map[types.NamespacedName]modelgroup.Key
}

var loggerOnce sync.Once

// quietLogs keeps controller-runtime and client-go to errors, as the
// product's test framework does.
func quietLogs() {
	loggerOnce.Do(func() {
		l := zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel))
		log.SetLogger(l)
		klog.SetLogger(l)
	})
}

// Run builds the cluster, starts the strategy and plays the scenarios.
// The returned Result is filled as far as the run got, also on error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts.defaults()
	quietLogs()
	res := &Result{
		Strategy: opts.Strategy, N: opts.N, Groups: opts.Groups, Namespaces: opts.Namespaces,
		SteadyIntervalSeconds: opts.SteadyInterval.Seconds(), TimeboxSeconds: opts.Timebox.Seconds(),
		KubeAPIQPS: opts.KubeAPIQPS, KubeAPIBurst: opts.KubeAPIBurst, Workers: opts.Workers, StatusWriters: opts.StatusWriters, OperatorAsAdmin: opts.OperatorAsAdmin,
	}
	err := run(ctx, opts, res)
	if err != nil {
		res.Error = err.Error()
	}
	return res, err
}

func run(ctx context.Context, opts Options, res *Result) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	steady := slices.Contains(opts.Scenarios, ScenarioSteady)
	interval := longInterval
	if steady {
		interval = opts.SteadyInterval
	}
	model, err := NewModel(opts.Shape, interval)
	if err != nil {
		return err
	}
	r := &runner{opts: opts, model: model, result: res, actuation: newActuationClock(), groupOf: map[types.NamespacedName]modelgroup.Key{}}
	for _, g := range model.Groups {
		for _, va := range g.VAs {
			r.groupOf[va.Key()] = g.Key
		}
	}
	r.logf("%s N=%d: %d groups in %d namespaces; starting the control plane", opts.Strategy, opts.N, opts.Groups, opts.Namespaces)
	if err := r.startControlPlane(); err != nil {
		return err
	}
	defer func() {
		cancel() // close the harness's watches before the API server stops
		err = errors.Join(err, r.env.Stop())
	}()

	setupCfg := rest.CopyConfig(r.env.Config)
	setupCfg.QPS, setupCfg.Burst = 5000, 10000
	if r.setup, err = client.NewWithWatch(setupCfg, client.Options{Scheme: framework.Scheme}); err != nil {
		return err
	}
	r.opCfg, r.foreignCfg = r.env.Config, r.env.Config
	if !opts.OperatorAsAdmin {
		if r.opCfg, err = operatorIdentity(ctx, r.env); err != nil {
			return err
		}
	}
	r.opCfg = rest.CopyConfig(r.opCfg)
	r.opCfg.QPS, r.opCfg.Burst = opts.KubeAPIQPS, opts.KubeAPIBurst
	if r.scraper, err = newAPIScraper(r.env.Config); err != nil {
		return err
	}
	if err := r.createCluster(ctx); err != nil {
		return err
	}
	if err := r.waitWritesSettle(ctx); err != nil {
		return err
	}
	if r.tracker, err = NewTracker(ctx, r.setup, model.Namespaces); err != nil {
		return err
	}
	r.load = loadsource.NewMemory(len(model.Groups) + 64)
	for _, g := range model.Groups {
		r.load.SetQuietly(g.Key, g.Load)
	}
	res.SetupSeconds = time.Since(start).Seconds()
	runtime.GC()
	debug.FreeOSMemory()
	res.HarnessRSSMiB = mib(currentRSS())
	r.logf("%s N=%d: cluster ready in %.1fs, %d pods on %d nodes rolled out in %.1fs (harness RSS %.0f MiB)",
		opts.Strategy, opts.N, res.SetupSeconds, res.Workloads.Pods, res.Workloads.Nodes, res.Workloads.RolloutSeconds, res.HarnessRSSMiB)

	if opts.CPUProfile != "" {
		f, err := os.Create(opts.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}
	res.PeakRSSPerPhase = resetPeakRSS()
	defer func() {
		if r.op != nil {
			res.PeakRSSMiB = max(res.PeakRSSMiB, mib(peakRSS()))
			if opts.HeapProfile != "" {
				err = errors.Join(err, writeHeapProfile(opts.HeapProfile))
			}
			err = errors.Join(err, r.op.Stop())
		}
	}()

	// The operator starts on the created cluster: every VA must get its status.
	res.Initial, err = r.phase(ctx, phaseSpec{
		name: "initial", desc: "operator start: every VA gets its first status",
		affected: model.Groups,
		trigger: func(ctx context.Context) error {
			op, err := startOperator(opts.Strategy, r.env, r.opCfg, r.load, model.Namespaces, opts.Workers, opts.StatusWriters, r.actuation.observe)
			r.op = op
			return err
		},
		demanded: r.demandAll,
		idle:     !steady,
	})
	if err != nil || res.Initial.TimedOut {
		r.skipAll("the operator's start did not complete within the time box")
		return err
	}
	for _, name := range AllScenarios {
		if !slices.Contains(opts.Scenarios, name) {
			continue
		}
		p, err := r.scenario(ctx, name)
		if p != nil {
			res.Scenarios = append(res.Scenarios, p)
		}
		if err != nil {
			r.skipAll(fmt.Sprintf("%s failed: %v", name, err))
			return err
		}
		if p.TimedOut {
			r.skipAll(fmt.Sprintf("%s exceeded the time box of %s", name, opts.Timebox))
			return nil
		}
		if name == ScenarioSteady {
			// Back to a long interval, so that no timer fires while the
			// event scenarios are measured; wait for every short timer to
			// fire once and be re-armed.
			res.Drain, err = r.phase(ctx, phaseSpec{
				name: "drain", desc: "GLOBAL_OPT_INTERVAL back to 1h; wait for idle",
				prepare: func() error {
					return model.SetConfigMapKey(config.OperatorConfigMapName, config.KeyGlobalOptInterval, longInterval.String())
				},
				trigger: func(ctx context.Context) error {
					return r.patchConfigMap(ctx, config.OperatorConfigMapName, []string{config.KeyGlobalOptInterval})
				},
				applied:  r.configApplied,
				demanded: r.demandConfig,
				idle:     true,
				minWait:  opts.SteadyInterval,
			})
			if err != nil {
				return err
			}
			if res.Drain.TimedOut {
				r.skipAll("the switch back to a long interval did not go idle within the time box")
				return nil
			}
		}
	}
	return nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	return errors.Join(pprof.WriteHeapProfile(f), f.Close())
}

func (r *runner) logf(format string, a ...any) {
	if r.opts.Log != nil {
		fmt.Fprintf(r.opts.Log, format+"\n", a...)
	}
}

// skipAll records the scenarios not played.
func (r *runner) skipAll(why string) {
	for _, name := range AllScenarios {
		if slices.Contains(r.opts.Scenarios, name) && r.result.Scenario(name) == nil {
			r.result.Scenarios = append(r.result.Scenarios, &Phase{Name: name, Description: ScenarioDescriptions[name], Skipped: why})
		}
	}
}

// configApplied reports whether the operator's config store holds what the
// model's ConfigMaps say (the settings the scenarios change).
func (r *runner) configApplied() bool {
	have, want := r.op.Store().Config(), r.model.Config()
	return have.Operator.OptInterval == want.Operator.OptInterval && maps.Equal(have.UnitCosts, want.UnitCosts)
}

// Demanded evaluations by construction, per strategy.
func (r *runner) live() float64 { return float64(len(r.model.Live())) }

func (r *runner) demand(groupVAs, requests float64) float64 {
	switch r.opts.Strategy {
	case GlobalSingle:
		return r.live()
	case GlobalPerVA:
		return requests * r.live()
	}
	return groupVAs
}

func (r *runner) demandAll() float64    { return r.demand(r.live(), r.live()) }
func (r *runner) demandConfig() float64 { return r.demand(0, r.live()) }

// phaseSpec describes one phase.
type phaseSpec struct {
	name, desc string
	// prepare updates the model before the expectation is computed.
	prepare func() error
	trigger func(ctx context.Context) error
	// gone are VAs the phase deletes.
	gone []types.NamespacedName
	// affected are the groups the event concerns by construction.
	affected []*Group
	// applied, when set, must hold before the operator can be idle.
	applied func() bool
	// demanded are the evaluations the strategy's design makes (after prepare).
	demanded func() float64
	// window > 0 measures over a fixed window instead of convergence.
	window time.Duration
	// idle waits until the operator is idle after convergence.
	idle bool
	// minWait is the least time from the event to the end of the phase.
	minWait time.Duration
	// foreign runs the foreign client while the phase converges, and
	// before the event with the operator idle.
	foreign bool
}

// phase plays one phase and measures it.
func (r *runner) phase(ctx context.Context, s phaseSpec) (*Phase, error) {
	p := &Phase{Name: s.name, Description: s.desc, AffectedGroups: len(s.affected)}
	if s.prepare != nil {
		if err := s.prepare(); err != nil {
			return p, err
		}
	}
	// After prepare: VAs the phase deletes are no longer members.
	p.AffectedGroupVAs = LiveMembers(s.affected)
	p.DemandedEvaluations = s.demanded()
	want := r.model.Expected(time.Now())
	exp := r.tracker.Expect(want, s.gone)
	defer r.tracker.Release()
	p.ChangedVAs = exp.Affected() - len(s.gone)
	var foreign *foreignClient
	if s.foreign && r.opts.ForeignRate > 0 {
		var err error
		if !r.opts.OperatorAsAdmin && r.foreignCfg == r.env.Config {
			if r.foreignCfg, err = foreignIdentity(ctx, r.env, r.setup); err != nil {
				return p, err
			}
		}
		if foreign, err = newForeignClient(r.foreignCfg, r.opts.ForeignRate); err != nil {
			return p, err
		}
		if err := foreign.prepare(ctx); err != nil {
			return p, err
		}
		lat, errs := foreign.measure(ctx, r.opts.ForeignIdle)
		p.ForeignIdle = foreignStats(foreign.rate, lat, errs)
	}

	var before Work
	if r.op != nil {
		before = r.op.Work()
	}
	apiBefore, err := r.scraper.scrape(ctx)
	if err != nil {
		return p, err
	}
	changesBefore := r.tracker.Changes()
	if r.result.PeakRSSPerPhase {
		resetPeakRSS()
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	r.tracker.Start(exp, t0)
	r.actuation.start(t0)
	deadline := t0.Add(r.opts.Timebox)
	var foreignRun *foreignRun
	if foreign != nil {
		foreignRun = foreign.start(ctx)
	}
	if err := s.trigger(ctx); err != nil {
		return p, fmt.Errorf("%s: %w", s.name, err)
	}

	// Wait: a fixed window, or convergence of every changed VA.
	if s.window > 0 {
		p.WindowSeconds = s.window.Seconds()
		bar := startProgress(r.opts.Progress, s.name+": measuring a window", int(s.window.Seconds()))
		for time.Since(t0) < s.window && ctx.Err() == nil {
			bar.set(int(time.Since(t0).Seconds()))
			sleep(ctx, 200*time.Millisecond)
		}
		bar.set(int(s.window.Seconds()))
		bar.end()
	} else if exp.Affected() > 0 {
		bar := startProgress(r.opts.Progress, s.name+": VAs converged", exp.Affected())
	wait:
		for {
			bar.set(r.tracker.Progress(exp))
			select {
			case <-exp.Done():
				break wait
			case <-ctx.Done():
				break wait
			case <-time.After(100 * time.Millisecond):
				if time.Now().After(deadline) {
					p.TimedOut = true
					break wait
				}
			}
		}
		bar.set(r.tracker.Progress(exp))
		bar.end()
	}
	if foreignRun != nil {
		lat, errs := foreignRun.stop()
		p.Foreign = foreignStats(foreign.rate, lat, errs)
	}
	lat, last, missing := r.tracker.Latencies(exp)
	p.ConvergenceSeconds = last.Seconds()
	p.LatencyP50Seconds, p.LatencyP99Seconds = quantile(lat, 0.5).Seconds(), quantile(lat, 0.99).Seconds()
	if r.opts.Strategy == Sharded {
		act := r.actuation.latencies(exp.Changed(), r.groupOf)
		p.ActuatedVAs = len(act)
		p.ActuationP50Seconds, p.ActuationP99Seconds = quantile(act, 0.5).Seconds(), quantile(act, 0.99).Seconds()
	}
	if len(missing) > 0 {
		p.TimedOut = true
		p.ConvergenceSeconds = time.Since(t0).Seconds() // a lower bound
		p.Mismatches = r.tracker.Mismatches(exp, 5)
	}

	// Then the operator must finish what the event caused.
	lastBusy := t0
	if !p.TimedOut && (s.idle || s.applied != nil) {
		var ok bool
		lastBusy, ok = r.waitIdle(ctx, s, p.DemandedEvaluations, before, t0, deadline)
		p.TimedOut = !ok
		p.BusyMeasured = true
	}
	p.BusySeconds = lastBusy.Sub(t0).Seconds()
	if s.window > 0 {
		p.BusySeconds = 0
	}

	cpu := cpuTime() - cpu0
	after := r.op.Work().Sub(before)
	p.PeakRSSMiB = mib(peakRSS())
	r.result.PeakRSSMiB = max(r.result.PeakRSSMiB, p.PeakRSSMiB)
	p.HeapMiB = mib(heapBytes())
	apiAfter, err := r.scraper.scrape(ctx)
	if err != nil {
		return p, err
	}
	p.CPUSeconds = cpu.Seconds()
	p.Reconciles, p.Evaluations, p.StatusWrites = after.Reconciles, after.Evaluations, after.StatusWrites
	p.ObservedStatusChanges = r.tracker.Changes() - changesBefore
	p.API = apiAfter.Requests.Sub(apiBefore.Requests)
	p.APIWrites, p.APITotal = p.API.Writes(), p.API.Total()
	p.APIServerCPUSeconds = apiAfter.CPUSeconds - apiBefore.CPUSeconds

	if !r.opts.NoFloor && !p.TimedOut && p.ChangedVAs > 0 {
		p.FloorWrites = p.ChangedVAs
		// The floor is a best case: a small one is taken as the best of
		// three, as a single short measurement is at the mercy of the
		// machine's other load.
		tries := 1
		if p.FloorWrites <= 200 {
			tries = 3
		}
		var d time.Duration
		for i := range tries {
			t, err := r.floor.Measure(ctx, p.FloorWrites)
			if err != nil {
				return p, err
			}
			if i == 0 || t < d {
				d = t
			}
		}
		p.FloorSeconds = d.Seconds()
		if d > 0 {
			p.ConvergenceOverFloor = p.ConvergenceSeconds / p.FloorSeconds
		}
	}
	r.logPhase(p)
	return p, nil
}

// waitIdle waits until the operator's work stops moving for Quiet with an
// idle queue, after applied holds and minWait passed; it returns the last
// time work was seen, and false when the deadline came first.
func (r *runner) waitIdle(ctx context.Context, s phaseSpec, demanded float64, before Work, t0, deadline time.Time) (time.Time, bool) {
	bar := startProgress(r.opts.Progress, s.name+": evaluations until idle", int(demanded))
	defer bar.end()
	last, lastBusy := before, t0
	for ctx.Err() == nil {
		now := time.Now()
		w := r.op.Work()
		bar.set(int(w.Sub(before).Evaluations))
		if w != last || !r.op.Idle() || (s.applied != nil && !s.applied()) {
			last, lastBusy = w, now
		}
		if now.Sub(lastBusy) >= r.opts.Quiet && now.Sub(t0) >= s.minWait {
			return lastBusy, true
		}
		if now.After(deadline) {
			return lastBusy, false
		}
		sleep(ctx, 100*time.Millisecond)
	}
	return lastBusy, false
}

func (r *runner) logPhase(p *Phase) {
	status := ""
	if p.TimedOut {
		status = " (TIME BOX: lower bounds)"
	}
	r.logf("  %-20s reconciles %-8s evaluations %-10s writes %-7s api writes %-7s changed %-6d converged %6.2fs p99 %6.3fs actuation p99 %6.3fs floor %6.2fs busy %6.2fs cpu %6.2fs rss %4.0f MiB%s",
		p.Name, num(p.Reconciles), num(p.Evaluations), num(p.StatusWrites), num(p.APIWrites), p.ChangedVAs,
		p.ConvergenceSeconds, p.LatencyP99Seconds, p.ActuationP99Seconds, p.FloorSeconds, p.BusySeconds, p.CPUSeconds, p.PeakRSSMiB, status)
	if p.Foreign != nil && p.ForeignIdle != nil {
		r.logf("    foreign client: p99 %.1f ms during the change (%d requests, %d failed), %.1f ms idle",
			p.Foreign.P99Seconds*1e3, p.Foreign.Requests, p.Foreign.Errors, p.ForeignIdle.P99Seconds*1e3)
	}
	for _, m := range p.Mismatches {
		r.logf("    not as expected: %s", m)
	}
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// quantile returns the q-quantile (nearest rank) of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// vaKeys returns the namespaced names of VAs.
func vaKeys(vas []*VA) []types.NamespacedName {
	out := make([]types.NamespacedName, len(vas))
	for i, va := range vas {
		out[i] = va.Key()
	}
	return out
}
