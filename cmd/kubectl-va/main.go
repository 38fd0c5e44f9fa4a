// Command kubectl-va is a kubectl plugin for the variant-autoscaler: it
// explains decisions, plans what-ifs with the operator's own allocator and
// lists models by cost. Install it with `go install ./cmd/kubectl-va` (or
// copy the binary onto the PATH); kubectl then runs it as `kubectl va`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/llm-d/variant-autoscaler/internal/vactl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := vactl.Run(ctx, os.Args[1:], vactl.Options{Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
