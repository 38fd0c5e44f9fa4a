// Command dashboard generates the Grafana dashboard of the operator,
// config/grafana/variant-autoscaler.json, and the chart's copy of it, with
// the Grafana Foundation SDK. It is a module of its own so that the
// operator's go.mod does not grow the SDK.
//
//	go run .           # write both files
//	go run . -check    # fail when they are not what the code generates
//	go run . -png DATA -out FILE  # draw the docs' picture from the e2e data
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// outputs are the files the dashboard is written to, relative to the
// repository root.
var outputs = []string{
	"config/grafana/variant-autoscaler.json",
	"charts/variant-autoscaler/dashboards/variant-autoscaler.json",
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func main() {
	check := flag.Bool("check", false, "compare the files with the generated dashboard instead of writing them")
	png := flag.String("png", "", "draw the pictured panels from this e2e data file (test/e2e DASHBOARD_DATA_OUT) instead")
	out := flag.String("out", "docs/observability/dashboard.png", "with -png: the PNG to write, relative to the repository root")
	flag.Parse()
	var err error
	if *png != "" {
		err = drawPNG(*png, filepath.Join(repoRoot(), *out))
	} else {
		err = run(*check)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dashboard:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	data, err := render()
	if err != nil {
		return err
	}
	for _, rel := range outputs {
		path := filepath.Join(repoRoot(), rel)
		if check {
			have, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if !bytes.Equal(have, data) {
				return fmt.Errorf("%s is not what hack/dashboard generates: run `make dashboard`", rel)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
