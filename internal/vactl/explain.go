package vactl

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func explainCommand(o Options, f *Flags) *cobra.Command {
	in, out := 0.0, 0.0
	cmd := &cobra.Command{
		Use:   "explain NAME",
		Short: "Why a VariantAutoscaling has its desired replicas, and what the choice beat",
		Long: `explain prints the operator's decision for a VariantAutoscaling in words and
numbers: its model group (the VAs with the same spec.modelID in the
namespace), the group's load and SLO, each variant's capacity per replica,
the chosen mix and the alternatives it beat with their costs (recomputed
with the operator's allocator), the rule that set the number, and the
conditions. The status does not record the request shape; --input and
--output give it (default 512 and 128 tokens).`,
		Example: `  kubectl va explain llama-8b-l40s -n llm-serving --input 1024 --output 256`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := o.NewClient(f)
			if err != nil {
				return err
			}
			var va llmdv1alpha1.VariantAutoscaling
			if err := c.Get(cmd.Context(), client.ObjectKey{Namespace: ns, Name: args[0]}, &va); err != nil {
				return fmt.Errorf("reading VariantAutoscaling %s/%s: %w", ns, args[0], err)
			}
			g, err := readGroup(cmd.Context(), c, f, ns, va.Spec.ModelID, o.Err)
			if err != nil {
				return err
			}
			return writeExplain(o.Out, g, va.Name, shape{In: in, Out: out}, o.Now())
		},
	}
	cmd.Flags().Float64Var(&in, "input", defaultInputTokens, "average input tokens per request (the status does not record it)")
	cmd.Flags().Float64Var(&out, "output", defaultOutputTokens, "average output tokens per request, at least 1")
	return cmd
}

func parseDecimal(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return v
}

func writeExplain(w io.Writer, g *group, name string, load shape, now time.Time) error {
	idx := slices.IndexFunc(g.Members, func(m member) bool { return m.VA.Name == name })
	self := g.Members[idx]
	va := self.VA
	st := va.Status
	if err := (shape{Rate: 0, In: load.In, Out: load.Out}).validate(); err != nil {
		return err
	}

	fmt.Fprintf(w, "VariantAutoscaling %s/%s\n", va.Namespace, va.Name)
	fmt.Fprintf(w, "  target %s/%s, accelerator %s, mode %s, replicas %d..%s\n", va.Spec.ScaleTargetRef.Kind, va.Spec.ScaleTargetRef.Name,
		accelerator(va), va.Spec.EffectiveMode(), va.Spec.MinReplicas, maxText(va))
	if self.Skip != "" {
		fmt.Fprintf(w, "\nThe operator does not plan this variant: %s\n", self.Skip)
	} else {
		pr := self.Variant.Profile
		fmt.Fprintf(w, "  profile %s: alpha %.4g, beta %.4g, gamma %.4g, delta %.4g ms, max batch %d\n", self.Profile, pr.Alpha, pr.Beta, pr.Gamma, pr.Delta, pr.MaxBatchSize)
	}

	fmt.Fprintln(w)
	if st.DesiredReplicas == nil || st.Decision == nil {
		fmt.Fprintln(w, "Decision: none yet (the operator has not planned this variant).")
	} else {
		d := st.Decision
		fmt.Fprintf(w, "Decision: %s desired (current %d), rule %s\n", plural(int(*st.DesiredReplicas), "replica"), st.CurrentReplicas, d.Reason)
		fmt.Fprintf(w, "  %s\n", ruleText(g, self))
		if loadKnown(va) && *st.DesiredReplicas > 0 {
			fmt.Fprintf(w, "  load share %s req/s, predicted TTFT %s ms, ITL %s ms; ", rate(parseDecimal(d.LoadShare)), orDash(d.PredictedTTFT), orDash(d.PredictedITL))
		} else {
			fmt.Fprint(w, "  ")
		}
		fmt.Fprintf(w, "cost %s per hour", money(parseDecimal(d.CostPerHour)))
		if d.LastChangeTime != nil {
			fmt.Fprintf(w, "; desired replicas last changed %s", d.LastChangeTime.UTC().Format(time.RFC3339))
		}
		fmt.Fprintln(w)
	}

	load.Rate = 0
	for _, m := range g.Members {
		if m.VA.Status.Decision != nil {
			load.Rate += parseDecimal(m.VA.Status.Decision.LoadShare)
		}
	}
	fmt.Fprintf(w, "\nModel group: %s in %s, %s\n", g.ModelID, g.Namespace, plural(len(g.Members), "variant"))
	known := loadKnown(va)
	if known {
		fmt.Fprintf(w, "  load %s req/s (the sum of the variants' load shares: the arrivals, and the requests waiting served within BACKLOG_DRAIN_TIME %v)\n",
			rate(load.Rate), g.Config.Operator.BacklogDrainTime)
	} else {
		metrics := meta.FindStatusCondition(st.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
		fmt.Fprintf(w, "  load unknown (%s: %s): replicas are held, never scaled down on missing data\n", metrics.Reason, metrics.Message)
	}
	fmt.Fprintf(w, "  request shape %g input / %g output tokens per request (--input/--output; the status does not record it)\n", load.In, load.Out)
	if len(g.planned()) > 0 {
		fmt.Fprintf(w, "  ")
		writeSLOLine(w, g)
		fmt.Fprintf(w, "  policy: move replicas only to save more than %g%%; scale-down stabilization %v; %s\n",
			100*g.Config.Operator.CostSavingThreshold, g.Config.Operator.StabilizationWindow, scaleToZeroText(g))
	}

	fmt.Fprintln(w)
	if err := writeGroupStatus(w, g, load); err != nil {
		return err
	}
	if known && len(g.planned()) > 0 {
		fmt.Fprintf(w, "\nAlternatives at %s req/s (recomputed with the operator's allocator):\n", rate(load.Rate))
		if err := writeAlternatives(w, g, load, now); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nConditions:")
	tw := newTable(w)
	fmt.Fprintln(tw, "TYPE\tSTATUS\tREASON\tMESSAGE")
	for _, c := range st.Conditions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	return tw.Flush()
}

// loadKnown is false when the VA reports its model's load as unavailable.
func loadKnown(va *llmdv1alpha1.VariantAutoscaling) bool {
	c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
	return c == nil || c.Status == metav1.ConditionTrue
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func maxText(va *llmdv1alpha1.VariantAutoscaling) string {
	if va.Spec.MaxReplicas == nil {
		return "unbounded"
	}
	return strconv.Itoa(int(*va.Spec.MaxReplicas))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeGroupStatus prints every member as the operator last decided, with
// its capacity per replica recomputed at the request shape.
func writeGroupStatus(w io.Writer, g *group, load shape) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "VARIANT\tACCELERATOR\tCOST/REPLICA\tCAPACITY/REPLICA\tMIN\tMAX\tCURRENT\tDESIRED\tLOAD\tCOST/H\tRULE")
	fmt.Fprintln(tw, "\t\tper hour\treq/s\t\t\t\t\treq/s\t\t")
	for _, m := range g.Members {
		va := m.VA
		costText, capText, maxT := "-", "-", maxText(va)
		if m.Skip == "" {
			costText = money(m.Variant.Cost)
			c, err := g.capacity(m, load)
			capText = capacityText(c, err)
			maxT = bound(m.Variant)
		}
		desired, share, cost, reason := "-", "-", "-", "-"
		if va.Status.DesiredReplicas != nil {
			desired = strconv.Itoa(int(*va.Status.DesiredReplicas))
		}
		if d := va.Status.Decision; d != nil {
			cost, reason = money(parseDecimal(d.CostPerHour)), string(d.Reason)
			if loadKnown(va) && d.LoadShare != "" {
				share = rate(parseDecimal(d.LoadShare))
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\t%s\t%s\n", va.Name, accelerator(va), costText, capText,
			va.Spec.MinReplicas, maxT, va.Status.CurrentReplicas, desired, share, cost, reason)
	}
	return tw.Flush()
}

// writeAlternatives prices the chosen mix against the cost optimum and each
// variant alone, and says why a cheaper one was not taken.
func writeAlternatives(w io.Writer, g *group, load shape, now time.Time) error {
	alts, err := g.alternatives(load, now)
	if err != nil {
		return err
	}
	chosen := alternative{Label: "chosen (status)", Replicas: map[string]int{}}
	for _, m := range g.planned() {
		if st := m.VA.Status; st.DesiredReplicas != nil {
			chosen.Replicas[m.VA.Name] = int(*st.DesiredReplicas)
			if st.Decision != nil {
				chosen.Cost += parseDecimal(st.Decision.CostPerHour)
			}
		}
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "MIX\tREPLICAS\tCOST/H\tVS CHOSEN")
	fmt.Fprintf(tw, "%s\t%s\t%s\t\n", chosen.Label, mixText(g, chosen.Replicas), money(chosen.Cost))
	for _, a := range alts {
		vs := fmt.Sprintf("%+.2f", round2(a.Cost-chosen.Cost))
		if a.Note != "" {
			vs = a.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Label, mixText(g, a.Replicas), money(a.Cost), vs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if opt := alts[0]; round2(opt.Cost) < round2(chosen.Cost) && opt.Note == "" {
		fmt.Fprintf(w, "The cost optimum is %s per hour cheaper; it was not taken because: %s\n",
			money(chosen.Cost-opt.Cost), cheaperNotTaken(g))
	}
	return nil
}

// mixText is "a=1 b=2", members in name order, zeros left out.
func mixText(g *group, n map[string]int) string {
	var parts []string
	for _, m := range g.Members {
		if k := n[m.VA.Name]; k > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", m.VA.Name, k))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// cheaperNotTaken names the rules of the group's members that hold replicas
// above the optimum.
func cheaperNotTaken(g *group) string {
	var why []string
	for _, m := range g.planned() {
		d := m.VA.Status.Decision
		if d == nil {
			continue
		}
		switch allocator.Reason(d.Reason) {
		case allocator.ReasonStabilized, allocator.ReasonCostHysteresis, allocator.ReasonBounds, allocator.ReasonKeepCheapest, allocator.ReasonMetricsMissing:
			why = append(why, fmt.Sprintf("%s: %s", m.VA.Name, ruleText(g, m)))
		}
	}
	if len(why) == 0 {
		return "the load or the configuration changed since the operator last planned"
	}
	return strings.Join(why, "; ")
}

// ruleText says in words what a decision reason means for this variant.
func ruleText(g *group, m member) string {
	va := m.VA
	d := va.Status.Decision
	if d == nil {
		return "no decision yet"
	}
	op := g.Config.Operator
	switch allocator.Reason(d.Reason) {
	case allocator.ReasonOptimal:
		return "the current replicas already are the cheapest mix that meets the SLO at this load"
	case allocator.ReasonLoadChange:
		return "the cheapest mix that meets the SLO at this load differs from the current replicas"
	case allocator.ReasonStabilized:
		return fmt.Sprintf("a scale-down is held at the highest recommendation within the stabilization window (STABILIZATION_WINDOW %v)", op.StabilizationWindow)
	case allocator.ReasonCostHysteresis:
		return fmt.Sprintf("moving replicas to the cheaper mix would save less than %g%% (COST_SAVING_THRESHOLD), so no variant grows", 100*op.CostSavingThreshold)
	case allocator.ReasonScaleToZero:
		return fmt.Sprintf("no request within the retention period (%v) and scale to zero is on for the model: the variant goes to its minimum", g.ScaleToZero.Retention)
	case allocator.ReasonKeepCheapest:
		return "the optimum is no replica at all, but scale to zero is off (or its retention period has not passed): the cheapest variant keeps one"
	case allocator.ReasonBounds:
		return fmt.Sprintf("minReplicas/maxReplicas (%d..%s), not the load, set the count", va.Spec.MinReplicas, maxText(va))
	case allocator.ReasonCapacityLimited:
		return "every variant is at its maximum and the load still exceeds their capacity"
	case allocator.ReasonMetricsMissing:
		return "the model's load is unknown: the current replicas are held (missing data is never zero load)"
	case allocator.ReasonInfeasible:
		return "the variant cannot meet the SLO at any load; it carries nothing and stays at its minimum"
	}
	if d.Reason == llmdv1alpha1.ReasonTargetConflict {
		return "an older VariantAutoscaling sizes the same workload; this one is left alone"
	}
	return string(d.Reason)
}
