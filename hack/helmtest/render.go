// Package helmtest renders and lints the chart charts/variant-autoscaler with
// the Helm Go SDK, as `helm template --include-crds` and `helm lint` do. It is
// a module of its own so that the operator's go.mod does not grow Helm.
package helmtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/lint/support"
	"sigs.k8s.io/yaml"
)

// ReleaseName is the release the tests render; no object name depends on it.
const ReleaseName = "variant-autoscaler"

// KubeVersion is the Kubernetes version rendered for: the one the local
// control plane of the tests is built at.
const KubeVersion = "v1.37.2"

func kubeVersion() (*chartutil.KubeVersion, error) {
	return chartutil.ParseKubeVersion(KubeVersion)
}

// RepoRoot is the root of the repository, found from this file.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// ChartDir is the chart's folder.
func ChartDir() string { return filepath.Join(RepoRoot(), "charts", "variant-autoscaler") }

// ReadValues reads and merges values files, later files winning, as
// `helm template -f a.yaml -f b.yaml` does.
func ReadValues(files ...string) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading values %s: %w", f, err)
		}
		var v map[string]any
		if err := yaml.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("parsing values %s: %w", f, err)
		}
		out = chartutil.MergeTables(v, out)
	}
	return out, nil
}

// Render renders the chart with the CRDs into one YAML stream, as `helm
// template --include-crds -n namespace` does, without a cluster.
func Render(chartDir, namespace string, vals map[string]any) (string, error) {
	return renderChart(chartDir, namespace, vals, true)
}

// RenderTemplates renders the templates only, as `helm template` does.
func RenderTemplates(chartDir, namespace string, vals map[string]any) (string, error) {
	return renderChart(chartDir, namespace, vals, false)
}

func renderChart(chartDir, namespace string, vals map[string]any, crds bool) (string, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return "", fmt.Errorf("loading the chart %s: %w", chartDir, err)
	}
	kv, err := kubeVersion()
	if err != nil {
		return "", err
	}
	install := action.NewInstall(&action.Configuration{})
	install.KubeVersion = kv
	install.DryRun = true
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = crds
	install.ReleaseName = ReleaseName
	install.Namespace = namespace
	rel, err := install.Run(chrt, vals)
	if err != nil {
		return "", fmt.Errorf("rendering the chart: %w", err)
	}
	return rel.Manifest, nil
}

// Lint runs `helm lint --strict` with the given values and returns every
// message at warning level or above, plus the errors.
func Lint(chartDir, namespace string, vals map[string]any) []string {
	l := action.NewLint()
	l.Strict = true
	if kv, err := kubeVersion(); err == nil {
		l.KubeVersion = kv
	}
	l.Namespace = namespace
	res := l.Run([]string{chartDir}, vals)
	var out []string
	for _, m := range res.Messages {
		if m.Severity >= support.WarningSev {
			out = append(out, m.Error())
		}
	}
	for _, err := range res.Errors {
		out = append(out, err.Error())
	}
	return out
}
