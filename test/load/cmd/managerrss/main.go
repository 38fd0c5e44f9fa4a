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

func main() { os.Exit(run()) }

func run() int {
	fs := flag.NewFlagSet("managerrss", flag.ExitOnError)
	ns := fs.String("n", "1000", "numbers of VAs, comma-separated")
	manager := fs.String("manager", "bin/manager", "the built cmd/manager")
	qps := fs.Float64("kube-api-qps", -1, "the manager's --kube-api-qps")
	writers := fs.Int("status-writers", 0, "the manager's --status-writers (0: its default)")
	memLimit := fs.String("gomemlimit", "", "GOMEMLIMIT of the manager (e.g. 120MiB); empty: none")
	extraEnv := fs.String("env", "", "more environment of the manager, comma-separated KEY=VALUE (e.g. GOGC=50,GODEBUG=gctrace=1)")
	heap := fs.String("heap-profile", "", "write the manager's heap profile after each run to this file, with the N appended (e.g. heap → heap-10000.pprof)")
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var out []*harness.ProcessResult
	for s := range strings.SplitSeq(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fmt.Fprintf(os.Stderr, "managerrss: -n: %v\n", err)
			return 2
		}
		var env []string
		if *memLimit != "" {
			env = append(env, "GOMEMLIMIT="+*memLimit)
		}
		if *extraEnv != "" {
			env = append(env, strings.Split(*extraEnv, ",")...)
		}
		var heapFile string
		if *heap != "" {
			heapFile = fmt.Sprintf("%s-%d.pprof", *heap, n)
		}
		res, err := harness.RunManagerProcess(ctx, harness.ProcessOptions{Env: env, HeapProfile: heapFile,
			Shape: harness.Shape{N: n, Namespaces: 10}, Manager: *manager, KubeAPIQPS: *qps, StatusWriters: *writers, Log: os.Stderr,
		})
		if err != nil {
			fmt.Fprintf(os.Stderr, "managerrss: N=%d: %v\n", n, err)
			return 1
		}
		out = append(out, res)
		fmt.Fprintf(os.Stderr, "N=%d: converged in %.1fs, peak RSS %.0f MiB, settled RSS %.0f MiB (%.0f MiB of it mapped files), CPU %.1fs\n",
			n, res.ConvergeSeconds, res.PeakRSSMiB, res.SettledRSSMiB, res.SettledFileRSSMiB, res.CPUSeconds)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return 1
	}
	return 0
}
