package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/replay/policy"
	"github.com/llm-d/variant-autoscaler/replay/sim"
)

// LearnedStart is how a learned-profile run starts.
type LearnedStart struct {
	Name string
	// SpecScale multiplies the true profile to give the spec profile
	// (2: twice too slow, 0.5: twice too fast); 0: no spec profile, and the
	// prior is the estimator's default for an unknown accelerator (the
	// accelerator table shares its numbers with the simulator's profiles,
	// so it would start at the answer).
	SpecScale float64
}

// LearnedStarts are the three starts of the issue-15 validation, and the
// true profile as the spec: the reference for what learning itself costs
// when the spec was right (the estimate replaces it once Usable).
func LearnedStarts() []LearnedStart {
	return []LearnedStart{{Name: "no profile"}, {Name: "2x too slow", SpecScale: 2}, {Name: "2x too fast", SpecScale: 0.5}, {Name: "true profile", SpecScale: 1}}
}

// ParamTimes is, per parameter, the simulated time (s) from which the
// estimate stays within the tolerance of the true value to the end of the
// run (-1: never, or the variant never ran).
type ParamTimes struct {
	Alpha, Beta, Gamma, Delta float64
}

// LearnedVariantSummary is one variant of a learned run.
type LearnedVariantSummary struct {
	Variant string
	// Final estimate and its standard errors; Truth the simulator's profile.
	Final, StdErr, Truth estimator.Params
	// Within10 is when each parameter came within 10% for good;
	// FirstWithin10 when all four first were.
	Within10      ParamTimes
	FirstWithin10 float64
	// WorstAtHour is the largest relative error of the four parameters at
	// the first plan one simulated hour in, WorstParamAtHour its name and
	// WorstStdErrAtHour the estimate's own relative standard error of that
	// parameter then (-1 and "": the run is shorter, or the variant had not
	// run by then).
	WorstAtHour, WorstStdErrAtHour float64
	WorstParamAtHour               string
	// LearnedAt is the first plan (s) that used the learned profile (-1:
	// none), Usable or because the data contradicted the spec; UsableAt the
	// first at which it was Usable.
	LearnedAt, UsableAt float64
	// Samples accepted by the decode relation.
	Samples int
	// Readiness is the readiness rule's last message.
	Readiness string
}

// LearnedRun is one learned-profile run against the true-profile run.
type LearnedRun struct {
	Start LearnedStart
	// Cost (USD) and SLO attainment over the trace, and the same for the
	// true-profile operator.
	Cost, Attainment         float64
	TrueCost, TrueAttainment float64
	// DecisionsEqualFrom is the simulated time (s) from which every plan's
	// replica counts equal the true-profile plan on the same input (-1:
	// never for good); EqualShare the share of plans after LearnedAt of the
	// used variant that were equal.
	DecisionsEqualFrom float64
	EqualShare         float64
	// Differing counts the plans after LearnedAt that differ from the
	// true-profile plan; SpecDiffering those of them where a variant with
	// replicas in either was planned from its spec or held. WorstMargin is
	// the largest LoadMargin of the others (0: none): the true profiles
	// give each of them at a load that much higher or lower;
	// WorstMarginStdErrs the largest of their MarginStdErrs.
	Differing, SpecDiffering        int
	WorstMargin, WorstMarginStdErrs float64
	Plans                           int
	Variants                        []LearnedVariantSummary
}

// LearnedValidation runs the diurnal scenario (seed, scale, hours as for
// Scenarios) with the true-profile operator and with learned profiles from
// each start.
func LearnedValidation(seed uint64, scale, hours, window float64, starts []LearnedStart) ([]LearnedRun, error) {
	sc := Scenarios(seed, scale, hours)[0]
	arrivals, err := sc.Trace.Generate()
	if err != nil {
		return nil, err
	}
	truthRes, err := Run(sc, arrivals, policy.NewOperator())
	if err != nil {
		return nil, err
	}
	var out []LearnedRun
	for _, st := range starts {
		p := &policy.Learned{
			Interval: 60_000, Window: 60_000, EstimatorWindow: window, Policy: allocator.DefaultPolicy(), Label: "learned: " + st.Name,
			Spec: func(v sim.VariantSpec) (allocator.Profile, bool) {
				if st.SpecScale == 0 {
					return allocator.Profile{}, false
				}
				q := v.Profile
				q.Alpha, q.Beta, q.Gamma, q.Delta = q.Alpha*st.SpecScale, q.Beta*st.SpecScale, q.Gamma*st.SpecScale, q.Delta*st.SpecScale
				return q, true
			},
			Prior: func(sim.VariantSpec) estimator.Prior { return estimator.DefaultPrior("") },
		}
		res, err := Run(sc, arrivals, p)
		if err != nil {
			return nil, fmt.Errorf("learned run %q: %w", st.Name, err)
		}
		if !res.Conserved {
			return nil, fmt.Errorf("learned run %q: requests not conserved", st.Name)
		}
		out = append(out, summarise(st, res, truthRes, p.Records, sc.Models[0]))
	}
	return out, nil
}

func summarise(st LearnedStart, res, truth Result, recs []policy.LearnedRecord, m policy.Model) LearnedRun {
	run := LearnedRun{Start: st, Cost: res.Cost, Attainment: res.Attainment, TrueCost: truth.Cost,
		TrueAttainment: truth.Attainment, DecisionsEqualFrom: -1, Plans: len(recs)}
	for i := len(recs) - 1; i >= 0 && recs[i].Equal; i-- {
		run.DecisionsEqualFrom = recs[i].T / 1000
	}
	firstLearned := math.Inf(1)
	for vi, v := range m.Variants {
		tp := estimator.Params{Alpha: v.Profile.Alpha, Beta: v.Profile.Beta, Gamma: v.Profile.Gamma, Delta: v.Profile.Delta}
		s := LearnedVariantSummary{Variant: v.Name, Truth: tp, LearnedAt: -1, UsableAt: -1, Within10: ParamTimes{-1, -1, -1, -1}, WorstAtHour: -1, WorstStdErrAtHour: -1}
		for _, r := range recs {
			if r.Variants[vi].Source == policy.SourceLearned {
				s.UsableAt = r.T / 1000
				break
			}
		}
		within := func(got, want float64) bool { return math.Abs(got-want) <= 0.1*want }
		// Walk back from the end: the earliest time from which it held.
		ok := [4]bool{true, true, true, true}
		times := [4]float64{-1, -1, -1, -1}
		for i := len(recs) - 1; i >= 0; i-- {
			lv := recs[i].Variants[vi]
			if lv.Estimate.DecodeSamples == 0 && lv.Estimate.PrefillSamples == 0 {
				break // never observed: a prior is not an estimate
			}
			got, want := paramList(lv.Estimate.Params), paramList(tp)
			for k := range got {
				if ok[k] && within(got[k], want[k]) {
					times[k] = recs[i].T / 1000
				} else {
					ok[k] = false
				}
			}
		}
		s.Within10 = ParamTimes{times[0], times[1], times[2], times[3]}
		s.FirstWithin10 = -1
		for _, r := range recs {
			lv := r.Variants[vi]
			if worst, _ := worstError(lv.Estimate.Params, tp); lv.Estimate.DecodeSamples > 0 && worst <= 0.1 {
				s.FirstWithin10 = r.T / 1000
				break
			}
		}
		for _, r := range recs {
			if e := r.Variants[vi].Estimate; r.T >= 3600_000 {
				if e.DecodeSamples > 0 || e.PrefillSamples > 0 {
					var i int
					s.WorstAtHour, i = worstError(e.Params, tp)
					s.WorstParamAtHour = paramNames[i]
					s.WorstStdErrAtHour = paramList(e.StdErr)[i] / paramList(tp)[i]
				}
				break
			}
		}
		for _, r := range recs {
			if src := r.Variants[vi].Source; src == policy.SourceLearned || src == policy.SourceContradicted {
				s.LearnedAt = r.T / 1000
				firstLearned = math.Min(firstLearned, r.T)
				break
			}
		}
		if len(recs) > 0 {
			last := recs[len(recs)-1].Variants[vi].Estimate
			s.Final, s.StdErr, s.Samples = last.Params, last.StdErr, last.DecodeSamples
			s.Readiness = recs[len(recs)-1].Variants[vi].Message
		}
		run.Variants = append(run.Variants, s)
	}
	after := 0
	for _, r := range recs {
		if r.T < firstLearned {
			continue
		}
		after++
		if r.Equal {
			continue
		}
		run.Differing++
		if bySpec(r) {
			run.SpecDiffering++
		} else {
			run.WorstMargin = math.Max(run.WorstMargin, r.LoadMargin)
			run.WorstMarginStdErrs = math.Max(run.WorstMarginStdErrs, r.MarginStdErrs)
		}
	}
	if after > 0 {
		run.EqualShare = float64(after-run.Differing) / float64(after)
	}
	return run
}

// bySpec reports whether a variant planned from its spec profile, or held,
// has replicas in the plan or the true-profile plan: its spec, not a
// learned profile, may be what made them differ.
func bySpec(r policy.LearnedRecord) bool {
	for _, v := range r.Variants {
		if (v.Planned > 0 || v.Truth > 0) && (v.Source == policy.SourceSpec || v.Source == policy.SourceHeld) {
			return true
		}
	}
	return false
}

var paramNames = [4]string{"α", "β", "γ", "δ"}

func paramList(p estimator.Params) [4]float64 { return [4]float64{p.Alpha, p.Beta, p.Gamma, p.Delta} }

// worstError is the largest relative error of p against the truth, and the
// index of the parameter that has it (in paramNames).
func worstError(p, truth estimator.Params) (worst float64, at int) {
	got, want := paramList(p), paramList(truth)
	for i := range got {
		if e := math.Abs(got[i]-want[i]) / want[i]; e > worst {
			worst, at = e, i
		}
	}
	return worst, at
}

// LearnedMarkdown renders the runs as the table of docs/learned-profiles.md.
func LearnedMarkdown(runs []LearnedRun, variant string) string {
	secs := func(s float64) string {
		if s < 0 {
			return "never"
		}
		return fmt.Sprintf("%.0f min", s/60)
	}
	out := "| start | cost (true-profile run) | SLO attainment (true-profile run) | learned profile used from | Usable from | decisions = true-profile decisions from | equal after switching (the others) | all four first within 10% at | worst error at 1 h | α, β, γ, δ within 10% for good from | final α, β, γ, δ (truth) |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
	for _, r := range runs {
		var v LearnedVariantSummary
		for _, x := range r.Variants {
			if x.Variant == variant {
				v = x
			}
		}
		w := v.Within10
		atHour := "n/a"
		if v.WorstAtHour >= 0 {
			atHour = fmt.Sprintf("%.1f%% (%s; standard error %.1f%%)", 100*v.WorstAtHour, v.WorstParamAtHour, 100*v.WorstStdErrAtHour)
		}
		out += fmt.Sprintf("| %s | %.2f (%.2f) | %.2f%% (%.2f%%) | %s | %s | %s | %.1f%%%s | %s | %s | %s, %s, %s, %s | %.3g, %.3g, %.3g, %.3g (%g, %g, %g, %g) |\n",
			r.Start.Name, r.Cost, r.TrueCost, 100*r.Attainment, 100*r.TrueAttainment,
			secs(v.LearnedAt), secs(v.UsableAt), secs(r.DecisionsEqualFrom), 100*r.EqualShare, differing(r), secs(v.FirstWithin10), atHour,
			secs(w.Alpha), secs(w.Beta), secs(w.Gamma), secs(w.Delta),
			v.Final.Alpha, v.Final.Beta, v.Final.Gamma, v.Final.Delta, v.Truth.Alpha, v.Truth.Beta, v.Truth.Gamma, v.Truth.Delta)
	}
	return out
}

// differing says why the plans of r that differ from the true-profile plan
// do: at a replica step (with the largest load margin), or by a variant
// planned from its spec or held.
func differing(r LearnedRun) string {
	var parts []string
	if n := r.Differing - r.SpecDiffering; n > 0 {
		parts = append(parts, fmt.Sprintf("%d at a step: ≤ %.1f%% of load, %.2f standard errors", n, 100*r.WorstMargin, r.WorstMarginStdErrs))
	}
	if r.SpecDiffering > 0 {
		parts = append(parts, fmt.Sprintf("%d by a spec or a hold", r.SpecDiffering))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// LearnedSeedsMarkdown renders, per start, the SLO attainment lost (points)
// and the cost added (%) against the true-profile run of the same seed,
// when the learned profile became Usable, when all four parameters were
// first within 10%, the worst parameter error one hour in and the share of
// plans equal to the true-profile plan, over several seeds: one seed's
// day turns on a handful of plans at replica-count boundaries.
func LearnedSeedsMarkdown(seeds []uint64, runs [][]LearnedRun, variant string) string {
	out := "| start |"
	for _, s := range seeds {
		out += fmt.Sprintf(" seed %d |", s)
	}
	out += " mean attainment lost |\n|---|" + strings.Repeat("---|", len(seeds)+1) + "\n"
	if len(runs) == 0 {
		return out
	}
	for i := range runs[0] {
		out += "| " + runs[0][i].Start.Name + " |"
		lost := 0.0
		for _, rs := range runs {
			r := rs[i]
			usable, atHour, first := "never", "n/a", "never"
			for _, v := range r.Variants {
				if v.Variant != variant {
					continue
				}
				if v.UsableAt >= 0 {
					usable = fmt.Sprintf("%.0f min", v.UsableAt/60)
				}
				if v.WorstAtHour >= 0 {
					atHour = fmt.Sprintf("%.1f%% (%s ± %.0f%%)", 100*v.WorstAtHour, v.WorstParamAtHour, 100*v.WorstStdErrAtHour)
				}
				if v.FirstWithin10 >= 0 {
					first = fmt.Sprintf("%.0f min", v.FirstWithin10/60)
				}
			}
			d := 100 * (r.TrueAttainment - r.Attainment)
			lost += d / float64(len(runs))
			out += fmt.Sprintf(" %+.2f pts, %+.1f%% cost, Usable %s, all within 10%% at %s, off at 1 h %s, %.1f%% of plans equal%s |",
				-d, 100*(r.Cost/r.TrueCost-1), usable, first, atHour, 100*r.EqualShare, differing(r))
		}
		out += fmt.Sprintf(" %.2f pts |\n", lost)
	}
	return out
}
