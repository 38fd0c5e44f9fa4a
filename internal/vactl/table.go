package vactl

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// accelerator is "H100" or "2xH100".
func accelerator(va *llmdv1alpha1.VariantAutoscaling) string {
	if va.Spec.AcceleratorCount > 1 {
		return fmt.Sprintf("%dx%s", va.Spec.AcceleratorCount, va.Spec.Accelerator)
	}
	return va.Spec.Accelerator
}

func bound(v allocator.Variant) string {
	if v.Max < 0 {
		return "-"
	}
	return strconv.Itoa(v.Max)
}

func money(x float64) string { return fmt.Sprintf("%.2f", round2(x)) }

func rate(x float64) string { return fmt.Sprintf("%.2f", x) }

// capacityText is a replica's capacity, or why there is none.
func capacityText(c float64, err error) string {
	switch {
	case err != nil:
		return "infeasible"
	case c <= 0:
		return "-"
	}
	return fmt.Sprintf("%.2f", c)
}

// latency prints a latency, "-" without replicas.
func latency(x float64, replicas int) string {
	if replicas == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", x)
}

// writePlan prints one row per planned variant of a what-if and the total.
func writePlan(w io.Writer, g *group, members []member, res allocator.Result, load shape) error {
	tw := newTable(w)
	fmt.Fprintln(tw, "VARIANT\tACCELERATOR\tCOST/REPLICA\tCAPACITY/REPLICA\tMIN\tMAX\tCURRENT\tPLANNED\tLOAD\tTTFT\tITL\tCOST/H\tREASON")
	fmt.Fprintln(tw, "\t\tper hour\treq/s\t\t\t\t\treq/s\tms\tms\t\t")
	current := 0
	for i, d := range res.Variants {
		m := members[i]
		c, err := g.capacity(m, load)
		current += m.Variant.Current
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n",
			m.VA.Name, accelerator(m.VA), money(m.Variant.Cost), capacityText(c, err), m.Variant.Min, bound(m.Variant),
			m.Variant.Current, d.Replicas, rate(d.LoadShare), latency(d.TTFT, d.Replicas), latency(d.ITL, d.Replicas), money(d.Cost), d.Reason)
	}
	fmt.Fprintf(tw, "TOTAL\t\t\t\t\t\t%d\t%d\t%s\t\t\t%s\t%s\n", current, res.TotalReplicas(), rate(load.Rate), money(res.TotalCost()), res.Outcome)
	return tw.Flush()
}

// writeSkipped lists the VAs the operator does not plan, and why.
func writeSkipped(w io.Writer, g *group) {
	for _, m := range g.Members {
		if m.Skip != "" {
			fmt.Fprintf(w, "not planned: %s: %s\n", m.VA.Name, m.Skip)
		}
	}
}
