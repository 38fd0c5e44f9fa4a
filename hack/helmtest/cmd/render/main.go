// Command render prints the chart rendered with the CRDs (`helm template
// --include-crds`) through the Helm Go SDK. The operator's integration test
// runs it to have a real API server accept the output.
//
//	go run ./cmd/render -n NAMESPACE [-f values.yaml ...]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/llm-d/variant-autoscaler/hack/helmtest"
)

type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func main() {
	var valueFiles files
	namespace := flag.String("n", "workload-variant-autoscaler-system", "release namespace")
	chart := flag.String("chart", helmtest.ChartDir(), "chart folder")
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Parse()
	vals, err := helmtest.ReadValues(valueFiles...)
	if err == nil {
		var out string
		if out, err = helmtest.Render(*chart, *namespace, vals); err == nil {
			fmt.Print(out)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "render:", err)
	os.Exit(1)
}
