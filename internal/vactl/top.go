package vactl

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func topCommand(o Options, f *Flags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top [-n NS | -A]",
		Short: "Models and their variants with load, replicas and cost, dearest first",
		Long: `top lists the models (model groups) with their load and cost per hour, each
followed by its variants, dearest model first and, within a model, dearest
variant first. The numbers are those of the VariantAutoscalings' status.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ns, err := o.NewClient(f)
			if err != nil {
				return err
			}
			if f.AllNamespaces {
				ns = ""
			}
			vas, err := listVAs(cmd.Context(), c, ns)
			if err != nil {
				return err
			}
			if len(vas) == 0 {
				where := "in namespace " + ns
				if ns == "" {
					where = "in any namespace"
				}
				fmt.Fprintf(o.Out, "No VariantAutoscaling %s.\n", where)
				return nil
			}
			return writeTop(o.Out, vas)
		},
	}
	cmd.Flags().BoolVarP(&f.AllNamespaces, "all-namespaces", "A", false, "list the VariantAutoscalings of every namespace")
	return cmd
}

// topModel is one model group with its totals.
type topModel struct {
	Namespace, Model string
	Load, Cost       float64
	Current, Desired int
	// LoadUnknown: a variant reports MetricsAvailable=False.
	LoadUnknown bool
	Variants    []topVariant
}

type topVariant struct {
	VA       *llmdv1alpha1.VariantAutoscaling
	Share    string
	Cost     float64
	CostText string
	Desired  string
	Reason   string
}

func writeTop(w io.Writer, vas []llmdv1alpha1.VariantAutoscaling) error {
	byKey := map[[2]string]*topModel{}
	var models []*topModel
	for i := range vas {
		va := &vas[i]
		k := [2]string{va.Namespace, va.Spec.ModelID}
		m := byKey[k]
		if m == nil {
			m = &topModel{Namespace: va.Namespace, Model: va.Spec.ModelID}
			byKey[k] = m
			models = append(models, m)
		}
		v := topVariant{VA: va, Share: "-", CostText: "-", Desired: "-", Reason: "-"}
		if !loadKnown(va) {
			// Missing metrics are not zero load.
			m.LoadUnknown = true
		}
		if d := va.Status.Decision; d != nil {
			v.CostText, v.Reason = money(parseDecimal(d.CostPerHour)), string(d.Reason)
			v.Cost = parseDecimal(d.CostPerHour)
			if loadKnown(va) && d.LoadShare != "" {
				v.Share = rate(parseDecimal(d.LoadShare))
				m.Load += parseDecimal(d.LoadShare)
			}
		}
		if va.Status.DesiredReplicas != nil {
			v.Desired = strconv.Itoa(int(*va.Status.DesiredReplicas))
			m.Desired += int(*va.Status.DesiredReplicas)
		}
		m.Current += int(va.Status.CurrentReplicas)
		m.Cost += v.Cost
		m.Variants = append(m.Variants, v)
	}
	slices.SortFunc(models, func(a, b *topModel) int {
		return cmp.Or(cmp.Compare(round2(b.Cost), round2(a.Cost)), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Model, b.Model))
	})
	tw := newTable(w)
	fmt.Fprintln(tw, "NAMESPACE\tMODEL\tVARIANT\tACCELERATOR\tLOAD req/s\tCURRENT\tDESIRED\tCOST/H\tRULE")
	total, totalCurrent, totalDesired := 0.0, 0, 0
	for _, m := range models {
		slices.SortFunc(m.Variants, func(a, b topVariant) int {
			return cmp.Or(cmp.Compare(round2(b.Cost), round2(a.Cost)), cmp.Compare(a.VA.Name, b.VA.Name))
		})
		load := rate(m.Load)
		if m.LoadUnknown {
			load = "unknown"
		}
		fmt.Fprintf(tw, "%s\t%s\t\t\t%s\t%d\t%d\t%s\t\n", m.Namespace, m.Model, load, m.Current, m.Desired, money(m.Cost))
		for _, v := range m.Variants {
			fmt.Fprintf(tw, "\t\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", v.VA.Name, accelerator(v.VA), v.Share, v.VA.Status.CurrentReplicas, v.Desired, v.CostText, v.Reason)
		}
		total += m.Cost
		totalCurrent += m.Current
		totalDesired += m.Desired
	}
	fmt.Fprintf(tw, "TOTAL\t%d models\t\t\t\t%d\t%d\t%s\t\n", len(models), totalCurrent, totalDesired, money(total))
	return tw.Flush()
}
