// Command vllm-emulator serves vLLM's serving metrics for the pods of a set
// of models and the metrics of the inference gateway in front of them (the
// endpoint picker's request counter and flow-control queue), driven by a load
// schedule (see package internal/emulator), so the operator can run against a
// real Prometheus without GPUs.
//
//	vllm-emulator --listen 127.0.0.1:9400 --schedule schedule.yaml --startup-delay 30s
//
// Prometheus scrapes GET /metrics (the pods) and GET /gateway/metrics (the
// gateway, with a namespace label); the operator's fast path polls GET
// /gateway/{namespace}/metrics. POST /replicas?namespace=..&model=..&n=..
// tells the emulator how many replicas serve a model (pods become ready
// --startup-delay later; requests wait at the gateway while none is ready),
// POST /requests?namespace=..&model=..&n=.. sends requests now.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/llm-d/variant-autoscaler/internal/emulator"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vllm-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:9400", "Address to serve /metrics, /replicas and /healthz on.")
	schedule := fs.String("schedule", "", "YAML file with the load schedule per model (required).")
	startup := fs.Duration("startup-delay", 0, "How long a new pod takes to become ready after a model's replicas rise.")
	engines := fs.Int("engines-per-pod", 0, "Data-parallel engines per pod, each a server with vLLM's engine label (0: no engine label).")
	itlNames := fs.String("itl-names", emulator.MetricITL, "Comma-separated names of the inter-token latency histogram: "+
		emulator.MetricITL+" (vLLM 0.11 and later), "+emulator.MetricITLBefore011+" (before 0.11), or both (0.11).")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *schedule == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "vllm-emulator: --schedule is required and no arguments are accepted")
		fs.Usage()
		return 2
	}
	s, err := emulator.LoadSchedule(*schedule)
	if err != nil {
		fmt.Fprintln(stderr, "vllm-emulator:", err)
		return 2
	}
	if *startup < 0 {
		fmt.Fprintln(stderr, "vllm-emulator: --startup-delay must not be negative")
		return 2
	}
	e, err := emulator.New(s, emulator.WithStartupDelay(*startup), emulator.WithITLNames(strings.Split(*itlNames, ",")...),
		emulator.WithEnginesPerPod(*engines))
	if err != nil {
		fmt.Fprintln(stderr, "vllm-emulator:", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "vllm-emulator:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stderr, "vllm-emulator: serving %d models on http://%s/metrics and /gateway/metrics\n", len(s.Models), ln.Addr())
	if err := e.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "vllm-emulator:", err)
		return 1
	}
	return 0
}
