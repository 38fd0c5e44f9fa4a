package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// writeTable prints one row per variant and the total.
func writeTable(w io.Writer, p *plan, res allocator.Result) error {
	in := p.Input
	fmt.Fprintf(w, "SLO: TTFT <= %g ms, ITL <= %g ms. Load: %g req/s, %g input / %g output tokens", in.SLO.TTFT, in.SLO.ITL, in.Load.Rate, in.Load.AvgIn, in.Load.AvgOut)
	if b := allocator.BacklogRate(in.Load.Waiting, in.Policy.BacklogDrain); b > 0 {
		fmt.Fprintf(w, "; %g waiting, served within %v (+%.3g req/s)", in.Load.Waiting, in.Policy.BacklogDrain, b)
	}
	fmt.Fprint(w, ".\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VARIANT\tACCELERATOR\tCAPACITY/REPLICA\tREPLICAS\tLOAD\tTTFT\tITL\tCOST/H\tUTIL\tREASON")
	fmt.Fprintln(tw, "\t\treq/s\t\treq/s\tms\tms")
	share := 0.0
	for i, d := range res.Variants {
		capacity := "-"
		if d.Err == nil && d.Capacity > 0 {
			capacity = fmt.Sprintf("%.3f", d.Capacity)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.2f\t%s\t%s\t%.2f\t%s\t%s\n",
			d.Name, p.Accelerators[i], capacity, d.Replicas, d.LoadShare,
			latency(d.TTFT, d.Replicas), latency(d.ITL, d.Replicas), d.Cost, percent(d), d.Reason)
		share += d.LoadShare
	}
	fmt.Fprintf(tw, "TOTAL\t\t\t%d\t%.2f\t\t\t%.2f\t\t%s\n", res.TotalReplicas(), share, res.TotalCost(), res.Outcome)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range res.Variants {
		if d.Err != nil {
			fmt.Fprintf(w, "\nnote: %v", d.Err)
		}
	}
	if res.Approximate {
		fmt.Fprint(w, "\nnote: the optimizer stopped at its search budget; the mix is feasible and at most one replica dearer than the optimum")
	}
	_, err := fmt.Fprintln(w)
	return err
}

func latency(ms float64, replicas int) string {
	if replicas == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", ms)
}

func percent(d allocator.Decision) string {
	if d.Replicas == 0 || d.Capacity == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*d.Utilisation)
}

type jsonVariant struct {
	Name               string  `json:"name"`
	Accelerator        string  `json:"accelerator"`
	Replicas           int     `json:"replicas"`
	CapacityPerReplica float64 `json:"capacityPerReplica"`
	LoadShare          float64 `json:"loadShare"`
	TTFT               float64 `json:"ttft"`
	ITL                float64 `json:"itl"`
	CostPerHour        float64 `json:"costPerHour"`
	Utilisation        float64 `json:"utilisation"`
	Reason             string  `json:"reason"`
	Error              string  `json:"error,omitempty"`
}

type jsonReport struct {
	Outcome       string        `json:"outcome"`
	Approximate   bool          `json:"approximate,omitempty"`
	TotalReplicas int           `json:"totalReplicas"`
	TotalCost     float64       `json:"totalCostPerHour"`
	Variants      []jsonVariant `json:"variants"`
}

// writeJSON prints the plan for scripts: rates in req/s, times in ms.
func writeJSON(w io.Writer, p *plan, res allocator.Result) error {
	out := jsonReport{
		Outcome:       string(res.Outcome),
		Approximate:   res.Approximate,
		TotalReplicas: res.TotalReplicas(),
		TotalCost:     res.TotalCost(),
		Variants:      make([]jsonVariant, len(res.Variants)),
	}
	for i, d := range res.Variants {
		v := jsonVariant{
			Name: d.Name, Accelerator: p.Accelerators[i], Replicas: d.Replicas,
			CapacityPerReplica: d.Capacity, LoadShare: d.LoadShare, TTFT: d.TTFT, ITL: d.ITL,
			CostPerHour: d.Cost, Utilisation: d.Utilisation, Reason: string(d.Reason),
		}
		if d.Err != nil {
			v.Error = d.Err.Error()
		}
		out.Variants[i] = v
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
