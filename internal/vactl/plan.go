package vactl

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// Default request shape of a what-if, when the flags do not give one.
const (
	defaultInputTokens  = 512
	defaultOutputTokens = 128
)

func planCommand(o Options, f *Flags) *cobra.Command {
	var load shape
	cmd := &cobra.Command{
		Use:   "plan MODEL --rate R [--input T --output T]",
		Short: "What the operator would do for a model at another load",
		Long: `plan sizes the variants of a model (the VariantAutoscalings with this
spec.modelID in the namespace) for the given load with the operator's own
allocator, the operator's ConfigMaps (costs, SLO, cost-saving threshold,
scale-to-zero) and each variant's current replicas and bounds. A what-if has
no history, so the scale-down stabilization window is not applied.`,
		Example: `  kubectl va plan meta-llama/Llama-3.1-8B-Instruct -n llm-serving --rate 40 --input 1024 --output 256`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := load.validate(); err != nil {
				return err
			}
			c, ns, err := o.NewClient(f)
			if err != nil {
				return err
			}
			g, err := readGroup(cmd.Context(), c, f, ns, args[0], o.Err)
			if err != nil {
				return err
			}
			return writeWhatIf(o.Out, g, load, o.Now())
		},
	}
	cmd.Flags().Float64Var(&load.Rate, "rate", -1, "arrival rate of the model, requests per second (required)")
	cmd.Flags().Float64Var(&load.In, "input", defaultInputTokens, "average input (prompt) tokens per request")
	cmd.Flags().Float64Var(&load.Out, "output", defaultOutputTokens, "average output (generated) tokens per request, at least 1")
	return cmd
}

func (s shape) validate() error {
	var errs []error
	if !(s.Rate >= 0) {
		errs = append(errs, errors.New("--rate: give the arrival rate in requests per second (>= 0)"))
	}
	if !(s.In >= 0) {
		errs = append(errs, fmt.Errorf("--input %v: must be at least 0", s.In))
	}
	if !(s.Out >= 1) {
		errs = append(errs, fmt.Errorf("--output %v: must be at least 1", s.Out))
	}
	return errors.Join(errs...)
}

func writeWhatIf(w io.Writer, g *group, load shape, now time.Time) error {
	res, members, err := g.plan(load, now)
	if err != nil {
		writeSkipped(w, g)
		return err
	}
	fmt.Fprintf(w, "What-if for model %s in namespace %s\n", g.ModelID, g.Namespace)
	fmt.Fprintf(w, "Load: %s req/s, %g input / %g output tokens per request\n", rate(load.Rate), load.In, load.Out)
	writeSLOLine(w, g)
	fmt.Fprintf(w, "Policy: move replicas only to save more than %g%% (COST_SAVING_THRESHOLD); %s; no stabilization (a what-if has no history)\n\n",
		100*g.Config.Operator.CostSavingThreshold, scaleToZeroText(g))
	if err := writePlan(w, g, members, res, load); err != nil {
		return err
	}
	writeNow(w, members, res)
	writeSkipped(w, g)
	return nil
}

func writeSLOLine(w io.Writer, g *group) {
	fmt.Fprintf(w, "SLO: TTFT <= %g ms, ITL <= %g ms (service class %s)\n", g.SLO.TTFT, g.SLO.ITL, g.Class)
}

func scaleToZeroText(g *group) string {
	if g.ScaleToZero.Enabled {
		return fmt.Sprintf("scale to zero on after %v without requests", g.ScaleToZero.Retention)
	}
	return "scale to zero off"
}

// writeNow compares the what-if with the operator's current decision.
func writeNow(w io.Writer, members []member, res interface {
	TotalReplicas() int
	TotalCost() float64
}) {
	desired, cost, known := 0, 0.0, 0
	for _, m := range members {
		st := m.VA.Status
		if st.DesiredReplicas == nil {
			continue
		}
		known++
		desired += int(*st.DesiredReplicas)
		if st.Decision != nil {
			cost += parseDecimal(st.Decision.CostPerHour)
		}
	}
	if known == 0 {
		fmt.Fprintln(w, "\nNow: the operator has not decided yet (no status.desiredReplicas).")
		return
	}
	fmt.Fprintf(w, "\nNow (status): %s desired, %s per hour; the what-if: %+d replicas, %+.2f per hour.\n",
		plural(desired, "replica"), money(cost), res.TotalReplicas()-desired, round2(res.TotalCost()-cost))
}
