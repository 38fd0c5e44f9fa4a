package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

// Row is one variant as the demo shows it.
type Row struct {
	Model, Variant, Accelerator string
	// Load is the model's arrival rate (req/s); Share the part assigned to this variant.
	Load  float64
	Share string
	// Current is the Deployment's replicas (spec); Desired the VA's decision (nil: none yet).
	Current int32
	// Pods of the workload: serving, on a node loading the model, and
	// Pending for lack of free GPUs of its type.
	Ready, Starting, Pending int32
	Desired                  *int32
	Cost                     string
	Reason                   string
	// Optimized is the status of the VA's Optimized condition ("" when absent).
	Optimized string
	// Profile is the reason of the VA's ProfileLearned condition: which
	// profile it is planned with ("" when absent).
	Profile string
}

// rows reads the VAs and Deployments of the namespace and the load of each model.
func rows(ctx context.Context, c client.Reader, namespace string, rate func(modelgroup.Key) float64) ([]Row, error) {
	var vas llmdv1alpha1.VariantAutoscalingList
	if err := c.List(ctx, &vas, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	var deps appsv1.DeploymentList
	if err := c.List(ctx, &deps, client.InNamespace(namespace)); err != nil {
		return nil, err
	}
	running := map[string]int32{}
	for _, d := range deps.Items {
		if d.Spec.Replicas != nil {
			running[d.Name] = *d.Spec.Replicas
		}
	}
	pods, err := podCounts(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(vas.Items))
	for i := range vas.Items {
		va := &vas.Items[i]
		r := Row{
			Model: va.Spec.ModelID, Variant: va.Name, Accelerator: acceleratorText(va),
			Load:    rate(modelgroup.KeyOf(va)),
			Current: running[va.Spec.ScaleTargetRef.Name],
			Desired: va.Status.DesiredReplicas,
		}
		pc := pods[va.Spec.ScaleTargetRef.Name]
		r.Ready, r.Starting, r.Pending = pc.Ready, pc.Starting, pc.Pending
		if d := va.Status.Decision; d != nil {
			r.Share, r.Cost, r.Reason = d.LoadShare, d.CostPerHour, string(d.Reason)
		}
		for _, c := range va.Status.Conditions {
			if c.Type == llmdv1alpha1.ConditionProfileLearned {
				r.Profile = c.Reason
			}
			if c.Type == llmdv1alpha1.ConditionOptimized {
				r.Optimized = string(c.Status)
				if c.Status != "True" && r.Reason == "" {
					r.Reason = c.Reason
				}
			}
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Model, b.Model), cmp.Compare(a.Variant, b.Variant))
	})
	return out, nil
}

func acceleratorText(va *llmdv1alpha1.VariantAutoscaling) string {
	if va.Spec.AcceleratorCount > 1 {
		return fmt.Sprintf("%dx%s", va.Spec.AcceleratorCount, va.Spec.Accelerator)
	}
	return va.Spec.Accelerator
}

// printTable writes the rows as aligned columns with per-model totals.
// pools, when not empty, is the node-pool line printed under the table.
func printTable(w io.Writer, header string, rs []Row, pools string) {
	fmt.Fprintln(w, header)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tVARIANT\tACCELERATOR\tLOAD req/s\tSHARE req/s\tCURRENT\tREADY\tSTARTING\tPENDING\tDESIRED\tCOST/h\tREASON\tPROFILE")
	var totalCost float64
	var totalReplicas int32
	for i, r := range rs {
		model, load := r.Model, strconv.FormatFloat(r.Load, 'f', 1, 64)
		if i > 0 && rs[i-1].Model == r.Model {
			model, load = "", ""
		}
		desired := "-"
		if r.Desired != nil {
			desired = strconv.Itoa(int(*r.Desired))
			totalReplicas += *r.Desired
		}
		if c, err := strconv.ParseFloat(r.Cost, 64); err == nil {
			totalCost += c
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\n",
			model, r.Variant, r.Accelerator, load, dash(r.Share), r.Current, r.Ready, r.Starting, r.Pending, desired, dash(r.Cost), dash(r.Reason), dash(r.Profile))
	}
	fmt.Fprintf(tw, "\t\t\t\t\t\t\t\t\t%d\t%.2f\t(total)\n", totalReplicas, totalCost)
	_ = tw.Flush()
	if pools != "" {
		fmt.Fprintln(w, pools)
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clockOfDay renders where t falls in a simulated day of length day, as HH:MM.
func clockOfDay(t time.Time, day time.Duration) string {
	frac := float64(t.UnixNano()%int64(day)) / float64(day)
	minutes := int(frac * 24 * 60)
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}
