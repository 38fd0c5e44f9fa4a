// Package report writes the load harness's results as JSON, a Markdown
// report and PNG plots.
package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/llm-d/variant-autoscaler/test/load/harness"
)

// Report is every run of one invocation of the harness.
type Report struct {
	Meta Meta              `json:"meta"`
	Runs []*harness.Result `json:"runs"`
}

// Meta describes where and how the runs were made.
type Meta struct {
	// Command is the exact command that produced the report.
	Command     string    `json:"command"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	GoVersion   string    `json:"goVersion"`
	Platform    string    `json:"platform"`
	CPUs        int       `json:"cpus"`
	MemoryGiB   float64   `json:"memoryGiB"`
	LoadAverage string    `json:"loadAverageAtStart"`
	// LoadAverageAtEnd is /proc/loadavg when the last run ended.
	LoadAverageAtEnd string `json:"loadAverageAtEnd,omitempty"`
	// ControlPlane is the envtest kube-apiserver and etcd version.
	ControlPlane   string            `json:"controlPlane"`
	APIServerFlags map[string]string `json:"apiServerFlags"`
}

// Files written by Write.
const (
	JSONFile        = "results.json"
	MarkdownFile    = "report.md"
	EvaluationsPlot = "evaluations-per-config-change.png"
	ConvergencePlot = "convergence-vs-n.png"
)

// Read loads a results.json.
func Read(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Put adds a run, replacing one of the same strategy and N, and keeps the
// runs ordered by N then strategy.
func (r *Report) Put(res *harness.Result) {
	r.Runs = slices.DeleteFunc(r.Runs, func(o *harness.Result) bool { return o.Strategy == res.Strategy && o.N == res.N })
	r.Runs = append(r.Runs, res)
	slices.SortStableFunc(r.Runs, func(a, b *harness.Result) int {
		if a.N != b.N {
			return a.N - b.N
		}
		return strategyOrder(a.Strategy) - strategyOrder(b.Strategy)
	})
}

func strategyOrder(s string) int {
	if i := slices.Index(harness.AllStrategies, s); i >= 0 {
		return i
	}
	return len(harness.AllStrategies)
}

// Write writes every file into dir and returns their paths.
func Write(dir string, r *Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	paths := []string{filepath.Join(dir, JSONFile), filepath.Join(dir, MarkdownFile)}
	if err := os.WriteFile(paths[0], append(data, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(paths[1], []byte(Markdown(r)), 0o644); err != nil {
		return nil, err
	}
	for name, plot := range map[string]func(*Report, string) error{
		EvaluationsPlot: plotEvaluations,
		ConvergencePlot: plotConvergence,
	} {
		path := filepath.Join(dir, name)
		if err := plot(r, path); err != nil {
			return paths, fmt.Errorf("%s: %w", name, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// run returns the run of a strategy at N, or nil.
func (r *Report) run(strategy string, n int) *harness.Result {
	for _, res := range r.Runs {
		if res.Strategy == strategy && res.N == n {
			return res
		}
	}
	return nil
}

// ns returns the distinct N in order.
func (r *Report) ns() []int {
	var out []int
	for _, res := range r.Runs {
		if !slices.Contains(out, res.N) {
			out = append(out, res.N)
		}
	}
	slices.Sort(out)
	return out
}

// strategies returns the strategies present, in report order.
func (r *Report) strategies() []string {
	var out []string
	for _, s := range harness.AllStrategies {
		for _, res := range r.Runs {
			if res.Strategy == s {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
