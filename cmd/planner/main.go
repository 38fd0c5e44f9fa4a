// Command planner sizes the variants of one model without a cluster: given
// their performance profiles, costs and bounds, the model's SLO and load, it
// prints how many replicas of each variant the variant autoscaler would run,
// with the predicted latencies and the cost. It runs the operator's own
// allocator.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/llm-d/variant-autoscaler/allocator"
)

// Exit codes.
const (
	exitOK              = 0
	exitInputError      = 1 // bad flags, unreadable or invalid input
	exitInfeasible      = 2 // no variant can meet the SLO
	exitCapacityLimited = 3 // the load exceeds every variant at its maximum
)

const usageText = `planner: size the variants of one model for its SLO and load, without a cluster.

Usage:
  planner -f FILE [-o table|json]
  planner fit -f BENCHMARK [--max-batch-size N] [-o yaml|json]   (fit a profile to a CSV, vLLM's JSON results or guidellm's report; planner fit -h)

Flags:
%s
Input (YAML or JSON; unknown fields are errors; times in milliseconds):

  slo:
    ttft: 1000          # time-to-first-token target, ms (required)
    itl: 60             # inter-token-latency target, ms (required)
  load:
    rate: 40            # requests per second (required)
    inputTokens: 1024   # average input tokens per request (required)
    outputTokens: 256   # average output tokens per request, >= 1 (required)
    waiting: 0          # requests queued now (default 0), served within backlogDrainTime
  policy:               # optional
    costSavingThreshold: 0.1   # move replicas to a cheaper mix only above this saving
    stabilizationWindow: 0s    # hold scale-downs from 'current' (default 0s here)
    backlogDrainTime: 2m       # serve 'waiting' within this on top of the rate (0s: off)
  variants:
  - name: llama-h100    # required, unique
    accelerator: H100   # shown in the report
    acceleratorCount: 1 # shown in the report (default 1)
    cost: 100           # cost of one replica per hour (required, >= 0)
    profile:            # measured performance of one replica (all required)
      maxBatchSize: 256 # 1..4096
      alpha: 8          # decode step Td(n) = alpha + beta*n, ms (alpha > 0)
      beta: 0.3
      gamma: 15         # prefill Tp(n) = gamma + delta*inputTokens*n, ms
      delta: 0.02
    min: 0              # default 0
    max: 10             # default unbounded
    current: 0          # replicas running now (default 0)

Exit status:
  0  the plan meets the SLO
  1  bad flags or input (the message names the field)
  2  no variant can meet the SLO (the reason is printed per variant)
  3  capacity limited: every variant at its maximum cannot carry the load
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, time.Now()))
}

// run is the whole command, with its streams and clock as arguments.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, now time.Time) int {
	if len(args) > 0 && args[0] == "fit" {
		return runFit(args[1:], stdin, stdout, stderr)
	}
	fs := flag.NewFlagSet("planner", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "input `file` (\"-\" for standard input)")
	format := fs.String("o", "table", "output `format`: table or json")
	fs.Usage = func() {} // the error says what is wrong; -h prints the help
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var flags stringWriter
			fs.SetOutput(&flags)
			fs.PrintDefaults()
			fmt.Fprintf(stdout, usageText, flags)
			return exitOK
		}
		fmt.Fprintln(stderr, "planner: see -h for the usage")
		return exitInputError
	}
	if *file == "" || fs.NArg() > 0 || (*format != "table" && *format != "json") {
		fmt.Fprintln(stderr, "planner: need -f FILE, no other arguments, and -o table or json (see -h)")
		return exitInputError
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		fmt.Fprintf(stderr, "planner: %v\n", err)
		return exitInputError
	}
	p, err := parseInput(data, now)
	if err != nil {
		fmt.Fprintf(stderr, "planner: invalid input %s:\n%v\n", *file, err)
		return exitInputError
	}
	res, err := allocator.Plan(p.Input, nil)
	if err != nil { // parseInput validated: not expected
		fmt.Fprintf(stderr, "planner: %v\n", err)
		return exitInputError
	}
	if *format == "json" {
		err = writeJSON(stdout, p, res)
	} else {
		err = writeTable(stdout, p, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "planner: %v\n", err)
		return exitInputError
	}
	switch res.Outcome {
	case allocator.OutcomeInfeasible:
		fmt.Fprintln(stderr, "planner: no variant can meet the SLO:")
		for _, d := range res.Variants {
			if d.Err != nil {
				fmt.Fprintf(stderr, "  %v\n", d.Err)
			}
		}
		return exitInfeasible
	case allocator.OutcomeCapacityLimited:
		fmt.Fprintln(stderr, "planner: capacity limited: every variant that can meet the SLO is at its maximum and the load is still higher")
		return exitCapacityLimited
	}
	return exitOK
}

type stringWriter string

func (s *stringWriter) Write(b []byte) (int, error) {
	*s += stringWriter(b)
	return len(b), nil
}
