package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/replay/scrape"
	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// Learned is the operator planning with profiles learned online (issue
// 15): every plan first feeds each variant's estimator one observation per
// pod (the per-pod windows of its vLLM series), then plans with, per
// variant, the learned profile when the readiness rule accepts it, else the
// spec profile, else the current replicas held. Each plan is also made with
// the simulator's true profiles on the same input (a shadow plan), so the
// run records when its decisions equal the true-profile decisions.
type Learned struct {
	// Interval and Window as for Operator (ms).
	Interval, Window float64
	Policy           allocator.Policy
	// Spec returns the spec profile a variant starts with; ok false: the VA
	// has no profile.
	Spec func(v sim.VariantSpec) (p allocator.Profile, ok bool)
	// Prior is the prior of a variant without a spec profile (nil:
	// estimator.DefaultPrior of the variant's name, which names its
	// accelerator).
	Prior func(v sim.VariantSpec) estimator.Prior
	// EstimatorWindow is the length of the per-pod windows fed to the
	// estimators (ms; 0: Window). Consecutive windows do not overlap, so
	// no request is counted twice. The estimators forget as the manager's
	// do: estimator.DefaultMemory, whatever the window.
	EstimatorWindow float64
	// Thresholds of the readiness rule (zero: the defaults).
	Thresholds estimator.Thresholds
	Label      string

	// Records holds one entry per plan of each model.
	Records []LearnedRecord

	pods     *scrape.Pods
	est      map[string]*estimator.Estimator
	lastFeed float64
	cache    *allocator.CapacityCache
	state    map[string]allocator.State
	lastPlan map[string]float64
	nextEval map[string]float64
}

// The profile a variant was planned with (LearnedVariant.Source).
const (
	SourceLearned = "learned"
	// SourceContradicted: learned, not yet Usable, but the data contradict
	// the spec.
	SourceContradicted = "contradicted"
	SourceSpec         = "spec"
	// SourceHeld: no profile to plan with; the replicas are held.
	SourceHeld = "held"
)

// LearnedVariant is a variant's estimate at one plan.
type LearnedVariant struct {
	Name     string
	Estimate estimator.Estimate
	// Source is the profile the plan used (Source...).
	Source string
	// Reason and Message are the ProfileLearned condition's.
	Reason  string
	Message string
	Planned int
	// Truth is what the plan with the true profiles gave.
	Truth int
}

// LearnedRecord is one plan of one model.
type LearnedRecord struct {
	T        float64 // ms
	Model    string
	Variants []LearnedVariant
	// Equal is set when every variant's count equals the true-profile plan's.
	Equal bool
	// LoadMargin, when not Equal, is the smallest of loadMargins by which
	// the load rate, raised or lowered, makes the true profiles give this
	// plan's counts (+Inf: none): how near a replica step it was decided.
	// MarginStdErrs is LoadMargin in relative standard errors of the
	// measured rate, those of a Poisson count over the planning window.
	LoadMargin, MarginStdErrs float64
}

// Name implements Policy.
func (o *Learned) Name() string {
	if o.Label != "" {
		return o.Label
	}
	return "operator-learned"
}

// Act scrapes the pods every tick and plans every model whose interval
// elapsed or whose time rule matured.
func (o *Learned) Act(now float64, env *Env) error {
	if o.state == nil {
		if o.EstimatorWindow <= 0 {
			o.EstimatorWindow = o.Window
		}
		o.pods = scrape.NewPods(math.Max(2*o.EstimatorWindow, 5*Tick))
		o.lastFeed = math.Inf(-1)
		o.est = map[string]*estimator.Estimator{}
		o.cache = allocator.NewCapacityCache(1024)
		o.state, o.lastPlan, o.nextEval = map[string]allocator.State{}, map[string]float64{}, map[string]float64{}
	}
	o.pods.Scrape(env.Sim)
	for _, m := range env.Models {
		last, planned := o.lastPlan[m.Name]
		due := !planned || now >= last+o.Interval-1e-6
		if ne := o.nextEval[m.Name]; ne > 0 && now >= ne {
			due = true
		}
		if !due {
			continue
		}
		if now >= o.lastFeed+o.EstimatorWindow-1e-6 {
			if err := o.learn(now, m); err != nil {
				return err
			}
			o.lastFeed = now
		}
		if err := o.plan(now, m, env); err != nil {
			return err
		}
	}
	return nil
}

// estimator returns the variant's estimator, started at its spec profile or
// the default prior of its accelerator (the variant name's suffix).
func (o *Learned) estimator(v sim.VariantSpec) (*estimator.Estimator, error) {
	if e := o.est[v.Name]; e != nil {
		return e, nil
	}
	prior := estimator.DefaultPrior(v.Name)
	if o.Prior != nil {
		prior = o.Prior(v)
	}
	if p, ok := o.Spec(v); ok {
		var err error
		if prior, err = estimator.SpecPrior(estimator.Params{Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta}); err != nil {
			return nil, err
		}
	}
	lambda, err := estimator.ForgettingFor(time.Duration(o.EstimatorWindow)*time.Millisecond, estimator.DefaultMemory)
	if err != nil {
		return nil, err
	}
	e, err := estimator.New(prior, estimator.Config{Forgetting: lambda})
	if err != nil {
		return nil, err
	}
	o.est[v.Name] = e
	return e, nil
}

// learn feeds each variant's estimator the windows of its pods.
func (o *Learned) learn(now float64, m Model) error {
	windows := o.pods.Windows(now, o.EstimatorWindow)
	for _, v := range m.Variants {
		e, err := o.estimator(v)
		if err != nil {
			return err
		}
		for _, w := range windows {
			if w.Variant != v.Name || w.Seconds <= 0 {
				continue
			}
			win := estimator.Window{Requests: w.TTFTCount, RequestRate: w.TTFTCount / w.Seconds, Running: w.Running, Waiting: w.Waiting,
				RunningVar: w.RunningVar, HasRunningVar: w.HasRunningVar}
			if w.TTFTCount > 0 {
				win.TTFT = w.TTFTSum / w.TTFTCount
			}
			if w.ITLCount > 0 {
				win.ITL = w.ITLSum / w.ITLCount
			}
			if w.Requests > 0 { // both are observed as requests finish
				win.InputTokens = w.PromptTokens / w.Requests
				win.PrefillTime = w.PrefillSum / w.Requests
			}
			win.InService = (w.PrefillSum + w.ITLSum) / (w.Seconds * 1000)
			obs, ok, err := estimator.FromWindow(win, v.Profile.MaxBatchSize)
			if err != nil {
				return fmt.Errorf("learned: pod %d of %s: %w", w.Pod, v.Name, err)
			}
			if !ok {
				continue
			}
			if _, err := e.Update(At(now), obs); err != nil {
				return fmt.Errorf("learned: pod %d of %s: %w", w.Pod, v.Name, err)
			}
		}
	}
	return nil
}

func (o *Learned) plan(now float64, m Model, env *Env) error {
	pol := o.Policy
	pol.ScaleToZero = m.ScaleToZero
	load := operatorLoad(m, env, o.Window, false)
	if pol.ScaleToZero {
		load.RequestsInRetention = env.Scraper.Increase(m.Name, float64(pol.Retention.Milliseconds()))
	}
	truth := allocatorVariants(m, env.Sim)
	vs := make([]allocator.Variant, len(truth))
	rec := LearnedRecord{T: now, Model: m.Name}
	for i, v := range m.Variants {
		vs[i] = truth[i]
		e := o.est[v.Name]
		est := e.Estimate()
		learned := learning.Profile(est.Params, v.Profile.MaxBatchSize)
		op := learning.OperatingPoint(est.Params, v.Profile.MaxBatchSize, m.SLO, load.AvgIn, load.AvgOut)
		var specParams *estimator.Params
		spec, hasSpec := o.Spec(v)
		if hasSpec {
			specParams = &estimator.Params{Alpha: spec.Alpha, Beta: spec.Beta, Gamma: spec.Gamma, Delta: spec.Delta}
		}
		// The rule the controller applies (learning.Choose), with
		// profileSource Auto.
		c := learning.Choose(llmdv1alpha1.ProfileSourceAuto, specParams, est, o.Thresholds, op)
		lv := LearnedVariant{Name: v.Name, Estimate: est, Reason: c.Reason, Message: c.Message}
		switch c.Source {
		case learning.SourceLearned:
			vs[i].Profile, lv.Source = learned, SourceLearned
			if !c.Learned {
				lv.Source = SourceContradicted
			}
		case learning.SourceSpec:
			vs[i].Profile, lv.Source = spec, SourceSpec
		default:
			// No profile to plan with: hold the replicas where they are.
			vs[i].Profile, lv.Source = learned, SourceHeld
			vs[i].Min, vs[i].Max = vs[i].Current, vs[i].Current
		}
		rec.Variants = append(rec.Variants, lv)
	}
	in := allocator.Input{Variants: vs, SLO: m.SLO, Load: load, Policy: pol, State: o.state[m.Name], Now: At(now)}
	res, err := allocator.Plan(in, o.cache)
	if err != nil {
		return fmt.Errorf("learned: model %s: %w", m.Name, err)
	}
	in.Variants = truth
	shadow, err := allocator.Plan(in, o.cache)
	if err != nil {
		return fmt.Errorf("learned: model %s (true profiles): %w", m.Name, err)
	}
	for i := range rec.Variants {
		rec.Variants[i].Planned, rec.Variants[i].Truth = res.Variants[i].Replicas, shadow.Variants[i].Replicas
	}
	if rec.Equal = sameCounts(res, shadow); !rec.Equal {
		if rec.LoadMargin, err = loadMargin(in, res, o.cache); err != nil {
			return fmt.Errorf("learned: model %s (true profiles, load moved): %w", m.Name, err)
		}
		rec.MarginStdErrs = math.Inf(1)
		if load.Rate > 0 && !math.IsInf(rec.LoadMargin, 1) {
			rec.MarginStdErrs = rec.LoadMargin * math.Sqrt(load.Rate*o.Window/1000)
		}
	}
	o.Records = append(o.Records, rec)
	o.state[m.Name] = res.State
	o.lastPlan[m.Name] = now
	o.nextEval[m.Name] = 0
	if !res.NextEvaluation.IsZero() {
		o.nextEval[m.Name] = FromTime(res.NextEvaluation)
	}
	for _, d := range res.Variants {
		if err := env.Sim.Scale(d.Name, d.Replicas); err != nil {
			return err
		}
	}
	return nil
}

// loadMargins are the relative changes of the load rate tried when a plan
// differs from the true-profile plan.
var loadMargins = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}

// loadMargin is the smallest of loadMargins by which the rate of in (whose
// variants carry the true profiles), raised or lowered, gives the counts of
// want; +Inf when none does.
func loadMargin(in allocator.Input, want allocator.Result, cache *allocator.CapacityCache) (float64, error) {
	rate := in.Load.Rate
	for _, m := range loadMargins {
		for _, f := range []float64{1 - m, 1 + m} {
			in.Load.Rate = rate * f
			got, err := allocator.Plan(in, cache)
			if err != nil {
				return 0, err
			}
			if sameCounts(got, want) {
				return m, nil
			}
		}
	}
	return math.Inf(1), nil
}

func sameCounts(a, b allocator.Result) bool {
	for i := range a.Variants {
		if a.Variants[i].Replicas != b.Variants[i].Replicas {
			return false
		}
	}
	return true
}
