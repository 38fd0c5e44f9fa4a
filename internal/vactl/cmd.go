// Package vactl is the kubectl-va plugin: it explains the operator's
// decisions, plans what-ifs with the operator's own allocator against the
// live VariantAutoscalings and ConfigMaps, and lists models by cost.
package vactl

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/config"
)

// Options are what the commands share.
type Options struct {
	Out, Err io.Writer
	// Now is the clock of the what-if plans; tests fix it.
	Now func() time.Time
	// NewClient builds the API client; nil: from the kubeconfig flags.
	NewClient func(*Flags) (client.Client, string, error)
}

// Flags are the connection flags, as kubectl names them.
type Flags struct {
	Kubeconfig, Context, Namespace, ConfigNamespace string
	AllNamespaces                                   bool
}

// NewCommand returns the kubectl-va root command.
func NewCommand(o Options) *cobra.Command {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewClient == nil {
		o.NewClient = newClient
	}
	f := &Flags{}
	root := &cobra.Command{
		Use:   "kubectl-va",
		Short: "Explain and try out the variant-autoscaler's decisions",
		Long: `kubectl va explains the variant-autoscaler's decisions and tries out what-ifs
with the operator's own allocator, against the live VariantAutoscalings and the
operator's ConfigMaps.

  kubectl va explain NAME -n NS     why the VA has its replicas, and what it beat
  kubectl va plan MODEL -n NS --rate R [--input T --output T]
                                    what the operator would do at another load
  kubectl va top [-n NS | -A]       models and variants by cost`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(o.Out)
	root.SetErr(o.Err)
	pf := root.PersistentFlags()
	pf.StringVar(&f.Kubeconfig, "kubeconfig", "", "path of the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&f.Context, "context", "", "kubeconfig context to use")
	pf.StringVarP(&f.Namespace, "namespace", "n", "", "namespace of the VariantAutoscalings (default: the context's)")
	pf.StringVar(&f.ConfigNamespace, "config-namespace", config.DefaultNamespace, "namespace of the operator's ConfigMaps")
	root.AddCommand(explainCommand(o, f), planCommand(o, f), topCommand(o, f))
	return root
}

// Run runs the plugin with the given arguments and returns the exit code.
func Run(ctx context.Context, args []string, o Options) int {
	cmd := NewCommand(o)
	cmd.SetArgs(args)
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(o.Err, "error:", err)
		return 1
	}
	return 0
}

// newClient builds a client from the kubeconfig as kubectl does, and
// returns the namespace to use (the flag, else the context's, else default).
func newClient(f *Flags) (client.Client, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if f.Kubeconfig != "" {
		rules.ExplicitPath = f.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.Context})
	rest, err := cc.ClientConfig()
	if err != nil {
		return nil, "", fmt.Errorf("reading the kubeconfig: %w", err)
	}
	ns := f.Namespace
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", fmt.Errorf("reading the kubeconfig's namespace: %w", err)
		}
	}
	c, err := client.New(rest, client.Options{Scheme: scheme})
	if err != nil {
		return nil, "", fmt.Errorf("connecting to the API server: %w", err)
	}
	return c, ns, nil
}
