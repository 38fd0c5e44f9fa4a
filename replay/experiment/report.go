package experiment

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/llm-d/variant-autoscaler/replay/policy"
	"github.com/llm-d/variant-autoscaler/replay/workload"
)

// Options configure a full replay.
type Options struct {
	Seed uint64
	// Scale multiplies every rate; Hours is the length of the daily traces.
	Scale, Hours float64
	// ValidationRequests per validation point.
	ValidationRequests int
	// Parallel runs at most this many simulations at once.
	Parallel int
	// WhatIf adds operator variants with policy changes the report
	// evaluates (a tail margin on the SLO, backlog-aware sizing).
	WhatIf bool
	// Note is printed under the report's title (how it was made).
	Note string
	// Progress receives a line per finished run (may be nil).
	Progress io.Writer
}

// DefaultOptions are the report's settings.
func DefaultOptions() Options {
	return Options{Seed: 14, Scale: 1, Hours: 24, ValidationRequests: 20000, Parallel: runtime.GOMAXPROCS(0)}
}

// Policies returns fresh instances of the compared policies; whatIf adds
// the operator variants of the what-if section.
func Policies(whatIf bool) []policy.Policy {
	gw := policy.NewOperator()
	gw.WakeFromZero, gw.GatewayRate, gw.Label = true, true, OperatorGateway
	perVA := policy.NewPredecessor()
	perVA.PerVariant = true
	ps := []policy.Policy{policy.NewOperator(), gw, policy.NewPredecessor(), perVA, &policy.KEDAQueue{}, &policy.HPAKV{}}
	if whatIf {
		tail := policy.NewOperator()
		tail.WakeFromZero, tail.GatewayRate, tail.SLOScale, tail.Label = true, true, TailScale, OperatorTail
		noBacklog := policy.NewOperator()
		noBacklog.WakeFromZero, noBacklog.GatewayRate, noBacklog.Policy.BacklogDrain, noBacklog.Label = true, true, 0, OperatorNoBacklog
		ps = append(ps, tail, noBacklog)
	}
	return ps
}

// The what-if variants of the operator.
const (
	// TailScale is the SLO margin of the tail what-if.
	TailScale = 0.85
	// OperatorTail plans against 85% of the SLO.
	OperatorTail = "operator+gateway+tail"
	// OperatorNoBacklog sizes for the arrival rate alone
	// (BACKLOG_DRAIN_TIME=0s), as the operator did before it drained queues.
	OperatorNoBacklog = "operator+gateway, no backlog"
)

// OperatorGateway names the operator fed as issue 11 specifies: the
// arrival rate measured at the gateway, and a fast path from zero.
const OperatorGateway = "operator+gateway"

// Report is everything the replay measured.
type Report struct {
	Seed       uint64        `json:"seed"`
	Hours      float64       `json:"hours"`
	Scale      float64       `json:"scale"`
	Traces     []TraceInfo   `json:"traces"`
	Results    []Result      `json:"results"`
	Validation []Row         `json:"validation"`
	Capacities []CaseSummary `json:"capacities"`
	Elapsed    string        `json:"elapsed"`
	Note       string        `json:"note,omitempty"`
}

// TraceInfo describes a trace of the report.
type TraceInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Requests    int      `json:"requests"`
	Hours       float64  `json:"hours"`
	Models      []string `json:"models"`
	Shapes      []string `json:"shapes"`
}

// Replay runs everything: the validation, then every policy and the
// hindsight bound on every trace.
func Replay(opt Options) (*Report, error) {
	start := time.Now()
	rep := &Report{Seed: opt.Seed, Hours: opt.Hours, Scale: opt.Scale, Note: opt.Note}
	var err error
	if rep.Validation, rep.Capacities, err = Validate(ValidationCases(), opt.ValidationRequests, opt.Seed); err != nil {
		return nil, err
	}
	progress(opt, "validation done (%v)", time.Since(start).Round(time.Second))
	type job struct {
		sc   Scenario
		arr  []workload.Arrival
		pol  policy.Policy // nil: hindsight
		slot int
	}
	var jobs []job
	for _, sc := range Scenarios(opt.Seed, opt.Scale, opt.Hours) {
		arr, err := sc.Trace.Generate()
		if err != nil {
			return nil, err
		}
		info := TraceInfo{Name: sc.Trace.Name, Description: sc.Trace.Description, Requests: len(arr), Hours: sc.Trace.Duration / hour}
		for _, ml := range sc.Trace.Models {
			info.Models = append(info.Models, ml.Model)
			info.Shapes = append(info.Shapes, fmt.Sprintf("%s: in %s, out %s", ml.Shape.Name, ml.Shape.In, ml.Shape.Out))
		}
		rep.Traces = append(rep.Traces, info)
		for _, p := range append(Policies(opt.WhatIf), nil) {
			jobs = append(jobs, job{sc: sc, arr: arr, pol: p, slot: len(jobs)})
		}
	}
	rep.Results = make([]Result, len(jobs))
	errs := make([]error, len(jobs))
	sem := make(chan struct{}, max(opt.Parallel, 1))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			t0 := time.Now()
			var res Result
			var err error
			if j.pol == nil {
				res, err = Hindsight(j.sc, j.arr)
			} else {
				res, err = Run(j.sc, j.arr, j.pol)
			}
			rep.Results[j.slot], errs[j.slot] = res, err
			progress(opt, "%-15s %-14s %6.1fs  cost $%.0f  attainment %.2f%%", j.sc.Trace.Name, res.Policy, time.Since(t0).Seconds(), res.Cost, 100*res.Attainment)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	rep.Elapsed = time.Since(start).Round(time.Second).String()
	return rep, nil
}

var progressMu sync.Mutex

func progress(opt Options, format string, args ...any) {
	if opt.Progress == nil {
		return
	}
	progressMu.Lock()
	defer progressMu.Unlock()
	fmt.Fprintf(opt.Progress, format+"\n", args...)
}

// Find returns the result of a policy on a trace.
func (r *Report) Find(trace, pol string) (Result, bool) {
	for _, x := range r.Results {
		if x.Trace == trace && x.Policy == pol {
			return x, true
		}
	}
	return Result{}, false
}

// Write stores results.json, the plots and report.md in dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	slim := *r
	slim.Results = make([]Result, len(r.Results))
	for i, x := range r.Results {
		slim.Results[i] = x
		slim.Results[i].Models = make([]ModelResult, len(x.Models))
		slim.Results[i].TTFTp50, slim.Results[i].TTFTp99 = finiteOr(x.TTFTp50), finiteOr(x.TTFTp99)
		for k, m := range x.Models {
			m.Timeline = thin(m.Timeline, 15)
			m.TTFTp50, m.TTFTp99 = finiteOr(m.TTFTp50), finiteOr(m.TTFTp99)
			slim.Results[i].Models[k] = m
		}
	}
	b, err := json.MarshalIndent(&slim, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	if err := r.plots(dir); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(r.Markdown()), 0o644)
}

// finiteOr maps an infinite percentile (unfinished requests) to -1: JSON
// has no infinity.
func finiteOr(x float64) float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return -1
	}
	return x
}

// thin keeps every k-th point (the JSON keeps 15-minute resolution).
func thin(ps []Point, k int) []Point {
	var out []Point
	for i := 0; i < len(ps); i += k {
		out = append(out, ps[i])
	}
	return out
}

// Markdown renders the report's tables.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Decision-quality replay: results\n\nGenerated by `make replay` (seed %d, %g-hour days, rate scale %g) in %s. ", r.Seed, r.Hours, r.Scale, r.Elapsed)
	b.WriteString("See docs/decision-quality.md for the method and the analysis.\n\n")
	if r.Note != "" {
		b.WriteString(r.Note + "\n\n")
	}
	b.WriteString("## Traces\n\n| trace | what | requests | hours | shapes |\n|---|---|---|---|---|\n")
	for _, t := range r.Traces {
		fmt.Fprintf(&b, "| %s | %s | %d | %g | %s |\n", t.Name, t.Description, t.Requests, t.Hours, strings.Join(t.Shapes, "; "))
	}
	b.WriteString("\n## Policies on the traces\n\nCost in USD over the trace; attainment = share of requests with TTFT and mean ITL within the SLO (unfinished requests count as misses); ")
	b.WriteString("vs hindsight = cost / hindsight cost − 1; cold = requests that arrived while their model had no ready replica.\n\n")
	b.WriteString("| trace | policy | cost $ | vs hindsight | attainment | TTFT p50 ms | TTFT p99 ms | scale actions | cold | unfinished |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, t := range r.Traces {
		hs, _ := r.Find(t.Name, HindsightName)
		for _, x := range r.Results {
			if x.Trace != t.Name {
				continue
			}
			vs := "—"
			if x.Policy != HindsightName && hs.Cost > 0 {
				vs = fmt.Sprintf("%+.0f%%", 100*(x.Cost/hs.Cost-1))
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %.2f%% | %s | %s | %d | %d | %d |\n", x.Trace, x.Policy, x.Cost, vs,
				100*x.Attainment, ms(x.TTFTp50), ms(x.TTFTp99), x.ScaleActions, x.ColdStart, x.Unfinished)
		}
	}
	b.WriteString("\n### Per model (three-models trace)\n\n| policy | model | requests | attainment | TTFT p50 ms | TTFT p99 ms |\n|---|---|---|---|---|---|\n")
	for _, x := range r.Results {
		if x.Trace != "three-models" {
			continue
		}
		for _, m := range x.Models {
			fmt.Fprintf(&b, "| %s | %s | %d | %.2f%% | %s | %s |\n", x.Policy, m.Model, m.Requests, 100*m.Attainment, ms(m.TTFTp50), ms(m.TTFTp99))
		}
	}
	b.WriteString("\n## Targets for the operator\n\n| trace | attainment ≥ 99% | ≥ 30% cheaper than predecessor | cheaper than KEDA-on-queue | within 15% of hindsight |\n|---|---|---|---|---|\n")
	for _, t := range r.Traces {
		for _, name := range []string{"operator", OperatorGateway, OperatorTail, OperatorNoBacklog} {
			op, ok := r.Find(t.Name, name)
			if !ok {
				continue
			}
			pre, _ := r.Find(t.Name, "predecessor")
			keda, _ := r.Find(t.Name, "keda-queue")
			hs, _ := r.Find(t.Name, HindsightName)
			fmt.Fprintf(&b, "| %s (%s) | %s %.2f%% | %s %s | %s %s | %s %s |\n", t.Name, name,
				mark(op.Attainment >= 0.99), 100*op.Attainment,
				mark(op.Cost <= 0.7*pre.Cost), rel(op.Cost, pre.Cost),
				mark(op.Cost < keda.Cost), rel(op.Cost, keda.Cost),
				mark(op.Cost <= 1.15*hs.Cost), rel(op.Cost, hs.Cost))
		}
	}
	b.WriteString("\n## The queueing model against the simulator\n\nOne replica, Poisson arrivals at a fraction of the model's capacity (allocator.Capacity at the shape's mean lengths), ")
	b.WriteString("heavy-tailed lengths (and, in the last two columns, every request at the mean lengths). TTFT and ITL in ms; ITL is the per-request mean; err = model / simulator − 1 on the means.\n\n")
	b.WriteString("| case | load | req/s | model TTFT | sim TTFT mean | p90 | err | model ITL | sim ITL mean | p90 | err | sim attainment | fixed-length TTFT | fixed-length ITL |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, x := range r.Validation {
		fmt.Fprintf(&b, "| %s | %.0f%% | %.2f | %.0f | %.0f | %.0f | %+.0f%% | %.1f | %.1f | %.1f | %+.0f%% | %.1f%% | %.0f | %.1f |\n",
			x.Case, 100*x.Fraction, x.Rate, x.PredTTFT, x.Sim.TTFTMean, x.Sim.TTFTp90, 100*(x.PredTTFT/x.Sim.TTFTMean-1),
			x.PredITL, x.Sim.ITLMean, x.Sim.ITLp90, 100*(x.PredITL/x.Sim.ITLMean-1), 100*x.Sim.Attainment, x.SimFixed.TTFTMean, x.SimFixed.ITLMean)
	}
	b.WriteString("\n### Capacity: the model's against the simulator's\n\n| case | mean in / out tokens | model μ(N) req/s | model capacity | simulator, means within SLO | simulator, 99% within SLO | model / simulator (99%) |\n|---|---|---|---|---|---|---|\n")
	for _, c := range r.Capacities {
		fmt.Fprintf(&b, "| %s | %.0f / %.0f | %.2f | %.2f | %.2f | %.2f | %+.0f%% |\n", c.Case, c.AvgIn, c.AvgOut, c.MaxRate, c.ModelCapacity, c.SimCapacityMean, c.SimCapacity99, 100*(c.ModelCapacity/c.SimCapacity99-1))
	}
	b.WriteString("\n## Plots\n\n")
	for _, t := range r.Traces {
		fmt.Fprintf(&b, "![%s](%s)\n\n", t.Name, "timeline-"+t.Name+".png")
	}
	b.WriteString("![cost vs attainment](cost-vs-attainment.png)\n\n![validation](validation.png)\n")
	return b.String()
}

func ms(x float64) string {
	if math.IsInf(x, 1) {
		return "∞"
	}
	return fmt.Sprintf("%.0f", x)
}

// rel is a/b − 1 as a percentage ("n/a" when b is zero).
func rel(a, b float64) string {
	if b == 0 {
		return "n/a (cost 0)"
	}
	return fmt.Sprintf("%+.0f%%", 100*(a/b-1))
}

func mark(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
