// Command replay runs the decision-quality replays: the validation of the
// queueing model against the serving simulator, then every policy and the
// hindsight bound on every trace, and writes the report (report.md,
// results.json and plots) into a directory (docs/decision-quality.md).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/llm-d/variant-autoscaler/replay/experiment"
)

func main() {
	opt := experiment.DefaultOptions()
	out := flag.String("out", "docs/decision-quality", "directory for report.md, results.json and the plots")
	flag.Uint64Var(&opt.Seed, "seed", opt.Seed, "seed of the traces and the validation")
	flag.Float64Var(&opt.Hours, "hours", opt.Hours, "length of the daily traces in hours (the day is compressed)")
	flag.Float64Var(&opt.Scale, "scale", opt.Scale, "multiplier of every arrival rate")
	flag.IntVar(&opt.ValidationRequests, "validation-requests", opt.ValidationRequests, "requests per validation point")
	flag.BoolVar(&opt.WhatIf, "what-if", opt.WhatIf, "add the operator variants with the policy changes the report evaluates")
	flag.StringVar(&opt.Note, "note", opt.Note, "a line printed under the report's title")
	flag.IntVar(&opt.Parallel, "parallel", opt.Parallel, "simulations run at once")
	flag.Parse()
	if opt.Hours <= 0 || opt.Scale <= 0 || opt.ValidationRequests < 100 {
		fmt.Fprintln(os.Stderr, "replay: -hours and -scale must be positive and -validation-requests at least 100")
		os.Exit(1)
	}
	opt.Progress = os.Stderr
	start := time.Now()
	rep, err := experiment.Replay(opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
	if err := rep.Write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
	fmt.Printf("replay: report written to %s in %v\n", *out, time.Since(start).Round(time.Second))
}
