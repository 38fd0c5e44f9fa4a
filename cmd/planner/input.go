package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// spec is the planner's input file. Pointers tell a missing field from a
// zero one: every number that has no sensible default is required.
type spec struct {
	SLO      *sloSpec      `json:"slo"`
	Load     *loadSpec     `json:"load"`
	Policy   *policySpec   `json:"policy,omitempty"`
	Variants []variantSpec `json:"variants"`
}

type sloSpec struct {
	TTFT *float64 `json:"ttft"`
	ITL  *float64 `json:"itl"`
}

type loadSpec struct {
	Rate         *float64 `json:"rate"`
	InputTokens  *float64 `json:"inputTokens"`
	OutputTokens *float64 `json:"outputTokens"`
	Waiting      *float64 `json:"waiting,omitempty"`
}

type policySpec struct {
	CostSavingThreshold *float64 `json:"costSavingThreshold,omitempty"`
	StabilizationWindow string   `json:"stabilizationWindow,omitempty"`
	BacklogDrainTime    string   `json:"backlogDrainTime,omitempty"`
}

type variantSpec struct {
	Name             string       `json:"name"`
	Accelerator      string       `json:"accelerator,omitempty"`
	AcceleratorCount *int         `json:"acceleratorCount,omitempty"`
	Cost             *float64     `json:"cost"`
	Profile          *profileSpec `json:"profile"`
	Min              *int         `json:"min,omitempty"`
	Max              *int         `json:"max,omitempty"`
	Current          *int         `json:"current,omitempty"`
}

type profileSpec struct {
	MaxBatchSize *int     `json:"maxBatchSize"`
	Alpha        *float64 `json:"alpha"`
	Beta         *float64 `json:"beta"`
	Gamma        *float64 `json:"gamma"`
	Delta        *float64 `json:"delta"`
}

// plan is a parsed, validated input: the allocator's input plus what only
// the report shows.
type plan struct {
	Input        allocator.Input
	Accelerators []string // per variant, "H100x2" style
}

// parseInput decodes a planner file strictly (unknown or duplicate fields
// are errors) and validates it, naming the offending field. A plan it
// returns is always accepted by allocator.Plan.
func parseInput(data []byte, now time.Time) (*plan, error) {
	var s spec
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	p := &plan{Input: allocator.Input{Now: now, Policy: allocator.DefaultPolicy()}}
	// A one-shot what-if has no history: with a stabilization window every
	// scale-down from `current` would be held. Off unless asked for.
	p.Input.Policy.StabilizationWindow = 0
	// Likewise the per-step bounds of the operator (scale-up limit, load-jump
	// check): the what-if shows where the operator converges, not its first
	// step. The replica ceiling stays: it bounds the result itself.
	p.Input.Policy.ScaleUp, p.Input.Policy.LoadJump = allocator.ScaleUpPolicy{}, allocator.LoadJumpPolicy{}

	if s.SLO == nil {
		add("slo: required")
	} else {
		p.Input.SLO.TTFT = positive(add, "slo.ttft", s.SLO.TTFT)
		p.Input.SLO.ITL = positive(add, "slo.itl", s.SLO.ITL)
	}
	if s.Load == nil {
		add("load: required")
	} else {
		p.Input.Load = allocator.Load{
			Available: true,
			Rate:      number(add, "load.rate", s.Load.Rate, 0, allocator.MaxRateLimit),
			AvgIn:     number(add, "load.inputTokens", s.Load.InputTokens, 0, 1e9),
			AvgOut:    number(add, "load.outputTokens", s.Load.OutputTokens, 1, 1e9),
		}
		if s.Load.Waiting != nil {
			p.Input.Load.Waiting = number(add, "load.waiting", s.Load.Waiting, 0, allocator.MaxRateLimit)
		}
	}
	if s.Policy != nil {
		if s.Policy.CostSavingThreshold != nil {
			p.Input.Policy.CostSavingThreshold = number(add, "policy.costSavingThreshold", s.Policy.CostSavingThreshold, 0, 1)
		}
		if w := s.Policy.StabilizationWindow; w != "" {
			p.Input.Policy.StabilizationWindow = duration(add, "policy.stabilizationWindow", w)
		}
		if w := s.Policy.BacklogDrainTime; w != "" {
			p.Input.Policy.BacklogDrain = duration(add, "policy.backlogDrainTime", w)
		}
	}
	if len(s.Variants) == 0 {
		add("variants: at least one is required")
	}
	if len(s.Variants) > allocator.MaxVariants {
		add("variants: at most %d allowed, got %d", allocator.MaxVariants, len(s.Variants))
	}
	seen := map[string]int{}
	for i, v := range s.Variants {
		at := fmt.Sprintf("variants[%d]", i)
		if v.Name == "" {
			add("%s.name: required", at)
		} else if j, dup := seen[v.Name]; dup {
			add("%s.name: %q is also the name of variants[%d]", at, v.Name, j)
		} else {
			seen[v.Name] = i
			at = fmt.Sprintf("variants[%d] (%s)", i, v.Name)
		}
		count := integer(add, at+".acceleratorCount", v.AcceleratorCount, 1, 1, 1024)
		av := allocator.Variant{
			Name:    v.Name,
			Cost:    number(add, at+".cost", v.Cost, 0, allocator.MaxCostLimit),
			Min:     integer(add, at+".min", v.Min, 0, 0, allocator.MaxReplicas),
			Max:     integer(add, at+".max", v.Max, allocator.Unbounded, 0, allocator.MaxReplicas),
			Current: integer(add, at+".current", v.Current, 0, 0, allocator.MaxReplicas),
		}
		if av.Max >= 0 && av.Max < av.Min {
			add("%s.max: %d is below min %d", at, av.Max, av.Min)
		}
		if v.Profile == nil {
			add("%s.profile: required", at)
		} else {
			pr := v.Profile
			av.Profile = allocator.Profile{
				MaxBatchSize: requiredInteger(add, at+".profile.maxBatchSize", pr.MaxBatchSize, 1, allocator.MaxBatchSizeLimit),
				Alpha:        positive(add, at+".profile.alpha", pr.Alpha),
				Beta:         number(add, at+".profile.beta", pr.Beta, 0, math.MaxFloat64),
				Gamma:        number(add, at+".profile.gamma", pr.Gamma, 0, math.MaxFloat64),
				Delta:        number(add, at+".profile.delta", pr.Delta, 0, math.MaxFloat64),
			}
		}
		p.Input.Variants = append(p.Input.Variants, av)
		p.Accelerators = append(p.Accelerators, acceleratorLabel(v.Accelerator, count))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// Whatever the checks above missed, the allocator's own validation says.
	if err := p.Input.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func acceleratorLabel(name string, count int) string {
	name = strings.TrimSpace(name)
	if name == "" {
		name = "-"
	}
	if count > 1 {
		return fmt.Sprintf("%sx%d", name, count)
	}
	return name
}

type adder func(format string, args ...any)

// number checks a required number against [lo, hi] (finite).
func number(add adder, field string, v *float64, lo, hi float64) float64 {
	switch {
	case v == nil:
		add("%s: required", field)
		return 0
	case !(*v >= lo && *v <= hi):
		add("%s: must be in [%g, %g], got %g", field, lo, hi, *v)
		return 0
	}
	return *v
}

// duration checks a non-negative duration; 0 when it is not one.
func duration(add adder, field, v string) time.Duration {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		add("%s: must be a non-negative duration such as 5m, got %q", field, v)
		return 0
	}
	return d
}

// positive checks a required, finite number above 0.
func positive(add adder, field string, v *float64) float64 {
	switch {
	case v == nil:
		add("%s: required", field)
		return 0
	case !(*v > 0 && *v <= math.MaxFloat64):
		add("%s: must be a positive number, got %g", field, *v)
		return 0
	}
	return *v
}

// integer checks an optional integer against [lo, hi]; absent, it is def.
func integer(add adder, field string, v *int, def, lo, hi int) int {
	switch {
	case v == nil:
		return def
	case *v < lo || *v > hi:
		add("%s: must be in [%d, %d], got %d", field, lo, hi, *v)
		return lo
	}
	return *v
}

// requiredInteger checks a required integer against [lo, hi].
func requiredInteger(add adder, field string, v *int, lo, hi int) int {
	if v == nil {
		add("%s: required", field)
		return lo
	}
	return integer(add, field, v, lo, lo, hi)
}
