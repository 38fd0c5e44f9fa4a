package vactl

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
)

// member is one VA of a group with what the allocator needs of it.
type member struct {
	VA *llmdv1alpha1.VariantAutoscaling
	// Variant is the allocator's view; valid when Skip is empty.
	Variant allocator.Variant
	SLO     config.SLO
	Class   string
	// Profile names the profile the variant is planned with (plannedProfile).
	Profile string
	// Skip says why the operator does not plan this VA (empty: it does).
	Skip string
}

// group is a model group: the VAs of one model in one namespace, in name
// order, resolved against the configuration in force.
type group struct {
	Namespace, ModelID string
	Members            []member
	// SLO is the strictest SLO of the planned members (the group serves one
	// model, so it meets the tightest target any variant asks for).
	SLO         config.SLO
	Class       string
	ScaleToZero config.ScaleToZeroPolicy
	Config      *config.Config
}

// newGroup resolves the VAs of one model as controller/plan.go planGroup
// does: a VA whose target is owned by another VA, whose profile does not
// parse, or that has no cost or SLO is left out with the reason.
func newGroup(cfg *config.Config, namespace, modelID string, vas []llmdv1alpha1.VariantAutoscaling) *group {
	g := &group{Namespace: namespace, ModelID: modelID, Config: cfg, ScaleToZero: cfg.ScaleToZeroFor(namespace, modelID)}
	slices.SortFunc(vas, func(a, b llmdv1alpha1.VariantAutoscaling) int { return cmp.Compare(a.Name, b.Name) })
	first := true
	for i := range vas {
		m := resolveMember(cfg, &vas[i])
		if m.Skip == "" {
			if first || m.SLO.TTFT < g.SLO.TTFT {
				g.SLO.TTFT = m.SLO.TTFT
			}
			if first || m.SLO.ITL < g.SLO.ITL {
				g.SLO.ITL = m.SLO.ITL
			}
			if first {
				g.Class = m.Class
			}
			first = false
		}
		g.Members = append(g.Members, m)
	}
	return g
}

func resolveMember(cfg *config.Config, va *llmdv1alpha1.VariantAutoscaling) member {
	m := member{VA: va}
	if c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionTargetResolved); c != nil &&
		c.Reason == llmdv1alpha1.ConditionReasonTargetConflict {
		m.Skip = "target conflict: " + c.Message
		return m
	}
	p, what, err := plannedProfile(va)
	if err != nil {
		m.Skip = err.Error()
		return m
	}
	m.Profile = what
	cost, err := cfg.VariantCost(&va.Spec)
	if err != nil {
		m.Skip = err.Error()
		return m
	}
	slo, class, err := cfg.SLOFor(va.Namespace, va.Spec.ModelID, va.Spec.ServiceClass)
	if err != nil {
		m.Skip = err.Error()
		return m
	}
	maxReplicas := allocator.Unbounded
	if va.Spec.MaxReplicas != nil {
		maxReplicas = int(*va.Spec.MaxReplicas)
	}
	m.SLO, m.Class = slo, class
	m.Variant = allocator.Variant{
		Name: va.Name, Cost: cost,
		Profile: p,
		Min:     int(va.Spec.MinReplicas), Max: maxReplicas,
		// The scale target's spec.replicas (readTargetReplicas), as the operator plans from.
		Current: int(va.Status.CurrentReplicas),
	}
	return m
}

// planned returns the members the allocator sizes.
func (g *group) planned() []member {
	return slices.DeleteFunc(slices.Clone(g.Members), func(m member) bool { return m.Skip != "" })
}

// shape is the request shape and rate of a what-if.
type shape struct {
	Rate, In, Out float64
}

// errNoVariants: nothing in the group can be planned.
var errNoVariants = errors.New("no VariantAutoscaling of the model can be planned")

// plan runs the operator's allocator over the planned members at the given
// load with the policy of the configuration in force. A what-if has no
// history: the stabilization window, which holds scale-downs against the
// history of recommendations, is left out, and the request stream is taken
// as active (no scale to zero).
func (g *group) plan(load shape, now time.Time) (allocator.Result, []member, error) {
	ms := g.planned()
	if len(ms) == 0 {
		return allocator.Result{}, nil, errNoVariants
	}
	in := allocator.Input{
		Variants: variantsOf(ms),
		SLO:      allocator.SLO{TTFT: g.SLO.TTFT, ITL: g.SLO.ITL},
		Load:     allocator.Load{Available: true, Rate: load.Rate, AvgIn: load.In, AvgOut: load.Out},
		Now:      now,
		Policy: allocator.Policy{
			ScaleToZero:         g.ScaleToZero.Enabled,
			Retention:           g.ScaleToZero.Retention,
			CostSavingThreshold: g.Config.Operator.CostSavingThreshold,
		},
		State: allocator.State{LastActive: now},
	}
	res, err := allocator.Plan(in, nil)
	if err != nil {
		return allocator.Result{}, nil, fmt.Errorf("planning %s in %s: %w", g.ModelID, g.Namespace, err)
	}
	return res, ms, nil
}

func variantsOf(ms []member) []allocator.Variant {
	out := make([]allocator.Variant, len(ms))
	for i, m := range ms {
		out[i] = m.Variant
	}
	return out
}

// alternative is one way of carrying the load, priced.
type alternative struct {
	Label    string
	Replicas map[string]int
	Cost     float64
	// Note says why the alternative is out (empty: it meets the SLO).
	Note string
}

// alternatives prices the ways the load could be carried: the cost optimum
// with no policy at all (no hysteresis), and each variant alone (from zero,
// within its bounds). They run the same allocator.
func (g *group) alternatives(load shape, now time.Time) ([]alternative, error) {
	ms := g.planned()
	if len(ms) == 0 {
		return nil, errNoVariants
	}
	base := allocator.Input{
		SLO:   allocator.SLO{TTFT: g.SLO.TTFT, ITL: g.SLO.ITL},
		Load:  allocator.Load{Available: true, Rate: load.Rate, AvgIn: load.In, AvgOut: load.Out},
		Now:   now,
		State: allocator.State{LastActive: now},
	}
	var out []alternative
	free := base
	free.Variants = variantsOf(ms)
	res, err := allocator.Plan(free, nil)
	if err != nil {
		return nil, err
	}
	out = append(out, altOf("cost optimum (no hysteresis, no stabilization)", res))
	for _, m := range ms {
		alone := base
		v := m.Variant
		v.Current = 0
		alone.Variants = []allocator.Variant{v}
		res, err := allocator.Plan(alone, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, altOf("only "+m.VA.Name, res))
	}
	return out, nil
}

func altOf(label string, res allocator.Result) alternative {
	a := alternative{Label: label, Replicas: map[string]int{}, Cost: res.TotalCost()}
	for _, d := range res.Variants {
		a.Replicas[d.Name] = d.Replicas
	}
	switch res.Outcome {
	case allocator.OutcomeInfeasible:
		a.Note = "cannot meet the SLO"
	case allocator.OutcomeCapacityLimited:
		a.Note = "cannot carry the load within maxReplicas"
	}
	return a
}

// capacities returns each planned member's capacity per replica at the shape
// (0 with the error when it cannot meet the SLO at all).
func (g *group) capacity(m member, load shape) (float64, error) {
	return allocator.Capacity(m.Variant.Profile, allocator.SLO{TTFT: g.SLO.TTFT, ITL: g.SLO.ITL},
		allocator.RoundTokens(load.In), allocator.RoundTokens(load.Out))
}

// round2 rounds to cents, so printed costs do not depend on float noise.
func round2(x float64) float64 { return math.Round(x*100) / 100 }
