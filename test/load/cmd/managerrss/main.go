// Command managerrss measures the manager binary as its own process on the
// load test's cluster: RSS and CPU at N VariantAutoscalings
// (docs/performance.md, "The manager as its own process").
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/llm-d/variant-autoscaler/test/load/harness"
)

func main() {
	fs := flag.NewFlagSet("managerrss", flag.ExitOnError)
	ns := fs.String("n", "1000", "numbers of VAs, comma-separated")
	manager := fs.String("manager", "bin/manager", "the built cmd/manager")
	qps := fs.Float64("kube-api-qps", -1, "the manager's --kube-api-qps")
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out []*harness.ProcessResult
	for s := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(os.Stderr, "managerrss: -n: %v\n", err)
			os.Exit(2)
		}
		res, err := harness.RunManagerProcess(ctx, harness.ProcessOptions{
			Shape: harness.Shape{N: n, Namespaces: 10}, Manager: *manager, KubeAPIQPS: *qps, Log: os.Stderr,
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "managerrss: N=%d: %v\n", n, err)
			os.Exit(1)
		}
		out = append(out, res)
		fmt.Fprintf(os.Stderr, "N=%d: converged in %.1fs, peak RSS %.0f MiB, settled RSS %.0f MiB, CPU %.1fs\n",
			n, res.ConvergeSeconds, res.PeakRSSMiB, res.SettledRSSMiB, res.CPUSeconds)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
