package helmtest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const namespace = "workload-variant-autoscaler-system"

func values(t *testing.T, files ...string) map[string]any {
	t.Helper()
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join("testdata", f)
	}
	v, err := ReadValues(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func render(t *testing.T, ns string, vals map[string]any) (string, []*unstructured.Unstructured) {
	t.Helper()
	out, err := Render(ChartDir(), ns, vals)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	var objs []*unstructured.Unstructured
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			return out, objs
		}
		if err != nil {
			t.Fatalf("decoding the rendered chart: %v", err)
		}
		if len(o) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: o})
		}
	}
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	slices.Sort(out)
	return out
}

func container(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	d := find(objs, "Deployment", name)
	if d == nil {
		t.Fatalf("no Deployment %s in %v", name, kinds(objs))
	}
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) != 1 {
		t.Fatalf("want one container, got %d", len(cs))
	}
	return cs[0].(map[string]any)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// `helm lint --strict` reports nothing, with the default and with every
// value changed.
func TestLintClean(t *testing.T) {
	for name, vals := range map[string]map[string]any{
		"defaults":             nil,
		"custom":               values(t, "custom.yaml"),
		"kustomize-equivalent": values(t, "kustomize-equivalent.yaml"),
	} {
		t.Run(name, func(t *testing.T) {
			if msgs := Lint(ChartDir(), namespace, vals); len(msgs) > 0 {
				t.Errorf("helm lint --strict:\n%s", strings.Join(msgs, "\n"))
			}
		})
	}
}

// The rendered chart is what the golden files hold; `go test -update`
// rewrites them after an intended change (review the diff).
func TestRenderGolden(t *testing.T) {
	for name, c := range map[string]struct {
		ns   string
		vals map[string]any
	}{
		"defaults": {namespace, nil},
		"custom":   {"va-system", values(t, "custom.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			// The CRD is left out: it is generated from api/ and checked
			// by TestChartCopiesInSync.
			out, err := RenderTemplates(ChartDir(), c.ns, c.vals)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out); diff != "" {
				t.Errorf("rendered chart differs from %s (-golden +rendered):\n%s", golden, diff)
			}
		})
	}
}

// Defaults: what config/default installs, no ServiceMonitor, no dashboard,
// no Namespace object (helm install --create-namespace makes it).
func TestRenderDefaults(t *testing.T) {
	_, objs := render(t, namespace, nil)
	want := []string{
		"ClusterRole//workload-variant-autoscaler-manager-role",
		"ClusterRole//workload-variant-autoscaler-metrics-auth-role",
		"ClusterRole//workload-variant-autoscaler-metrics-reader",
		"ClusterRole//workload-variant-autoscaler-variantautoscaling-editor-role",
		"ClusterRole//workload-variant-autoscaler-variantautoscaling-viewer-role",
		"ClusterRoleBinding//workload-variant-autoscaler-manager-rolebinding",
		"ClusterRoleBinding//workload-variant-autoscaler-metrics-auth-rolebinding",
		"ConfigMap/" + namespace + "/accelerator-unit-costs",
		"ConfigMap/" + namespace + "/model-scale-to-zero-config",
		"ConfigMap/" + namespace + "/service-classes-config",
		"ConfigMap/" + namespace + "/variantautoscaling-config",
		"CustomResourceDefinition//variantautoscalings.llmd.ai",
		"Deployment/" + namespace + "/workload-variant-autoscaler-controller-manager",
		"FlowSchema//workload-variant-autoscaler-controller-manager",
		"PriorityLevelConfiguration//workload-variant-autoscaler-controller-manager",
		"Role/" + namespace + "/workload-variant-autoscaler-manager-role",
		"RoleBinding/" + namespace + "/workload-variant-autoscaler-manager-rolebinding",
		"Service/" + namespace + "/workload-variant-autoscaler-controller-manager-metrics-service",
		"ServiceAccount/" + namespace + "/workload-variant-autoscaler-controller-manager",
	}
	if diff := cmp.Diff(want, kinds(objs)); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	c := container(t, objs, "workload-variant-autoscaler-controller-manager")
	wantArgs := []string{"--leader-elect", "--metrics-bind-address=:8443", "--health-probe-bind-address=:8081",
		"--config-namespace=$(POD_NAMESPACE)", "--actuation=metrics"}
	if diff := cmp.Diff(wantArgs, strs(c["args"])); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	if _, ok := c["volumeMounts"]; ok {
		t.Errorf("no Prometheus Secret is configured, yet the manager mounts volumes: %v", c["volumeMounts"])
	}
}

// Every value reaches the object it is meant for.
func TestRenderCustomValues(t *testing.T) {
	const ns = "va-system"
	_, objs := render(t, ns, values(t, "custom.yaml"))
	c := container(t, objs, "wva-controller-manager")
	wantArgs := []string{"--leader-elect", "--metrics-bind-address=:9443", "--health-probe-bind-address=:9081",
		"--config-namespace=$(POD_NAMESPACE)", "--actuation=scale", "--watch-namespaces=team-a,team-b", "--dry-run",
		"--load-source=synthetic", "--max-concurrent-reconciles=8", "--zap-log-level=debug", "--kube-api-qps=100"}
	if diff := cmp.Diff(wantArgs, strs(c["args"])); diff != "" {
		t.Errorf("args (-want +got):\n%s", diff)
	}
	for _, kind := range []string{"FlowSchema", "PriorityLevelConfiguration"} {
		if o := find(objs, kind, "wva-controller-manager"); o != nil {
			t.Errorf("priorityAndFairness.enabled=false, yet the chart renders a %s", kind)
		}
	}
	if got, want := c["image"], "registry.example.com/variant-autoscaler@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"; got != want {
		t.Errorf("image = %v, want %v", got, want)
	}

	cm := find(objs, "ConfigMap", "variantautoscaling-config")
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	for k, want := range map[string]string{
		"PROMETHEUS_BASE_URL":         "", // with a token: in the environment only
		"PROMETHEUS_CA_CERT_PATH":     "/etc/variant-autoscaler/prometheus-ca/ca.crt",
		"PROMETHEUS_CLIENT_CERT_PATH": "/etc/variant-autoscaler/prometheus-client/tls.crt",
		"PROMETHEUS_CLIENT_KEY_PATH":  "/etc/variant-autoscaler/prometheus-client/tls.key",
		"PROMETHEUS_SERVER_NAME":      "prometheus-k8s.monitoring.svc",
		"PROMETHEUS_QUERY_TIMEOUT":    "5s",
		"PROMETHEUS_STALENESS":        "2m",
		"STABILIZATION_WINDOW":        "2m",
		"GLOBAL_OPT_INTERVAL":         "30s",
	} {
		if data[k] != want {
			t.Errorf("variantautoscaling-config %s = %q, want %q", k, data[k], want)
		}
	}
	// Each credential file the ConfigMap names is mounted from its Secret.
	var mounts []string
	for _, m := range c["volumeMounts"].([]any) {
		mounts = append(mounts, m.(map[string]any)["mountPath"].(string))
	}
	// The token and the URL are in the environment, never in the ConfigMap.
	env := map[string]string{}
	for _, e := range c["env"].([]any) {
		m := e.(map[string]any)
		if v, ok := m["value"].(string); ok {
			env[m["name"].(string)] = v
		}
	}
	if _, ok := data["PROMETHEUS_TOKEN_PATH"]; ok {
		t.Errorf("the token path is in the ConfigMap, which the view role can read")
	}
	if env["PROMETHEUS_BASE_URL"] != "https://prometheus-k8s.monitoring.svc:9091" {
		t.Errorf("env PROMETHEUS_BASE_URL = %q", env["PROMETHEUS_BASE_URL"])
	}
	paths := map[string]string{
		"PROMETHEUS_CA_CERT_PATH":     data["PROMETHEUS_CA_CERT_PATH"],
		"PROMETHEUS_CLIENT_CERT_PATH": data["PROMETHEUS_CLIENT_CERT_PATH"],
		"PROMETHEUS_TOKEN_PATH":       env["PROMETHEUS_TOKEN_PATH"],
	}
	for k, p := range paths {
		if p == "" || !slices.Contains(mounts, filepath.Dir(p)) {
			t.Errorf("%s=%q is not under a mounted Secret (%v)", k, p, mounts)
		}
	}

	// Watching two namespaces: the ClusterRole is bound in those only.
	if crb := find(objs, "ClusterRoleBinding", "wva-manager-rolebinding"); crb != nil {
		t.Errorf("watchNamespaces is set, yet the manager's ClusterRole is bound cluster-wide")
	}
	var boundIn []string
	for _, o := range objs {
		if o.GetKind() == "RoleBinding" && o.GetName() == "wva-manager-rolebinding" {
			ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
			boundIn = append(boundIn, o.GetNamespace()+":"+ref)
		}
	}
	slices.Sort(boundIn)
	if diff := cmp.Diff([]string{"team-a:ClusterRole", "team-b:ClusterRole", ns + ":Role"}, boundIn); diff != "" {
		t.Errorf("RoleBindings (-want +got):\n%s", diff)
	}
	for _, name := range []string{"wva-variantautoscaling-editor-role", "wva-variantautoscaling-viewer-role"} {
		if find(objs, "ClusterRole", name) != nil {
			t.Errorf("rbac.userRoles is false, yet %s is rendered", name)
		}
	}

	sm := find(objs, "ServiceMonitor", "wva-controller-manager-metrics-monitor")
	if sm == nil {
		t.Fatal("serviceMonitor.enabled: no ServiceMonitor")
	}
	if sm.GetLabels()["release"] != "kube-prometheus" {
		t.Errorf("ServiceMonitor labels %v lack serviceMonitor.labels", sm.GetLabels())
	}
	dash := find(objs, "ConfigMap", "wva-dashboard")
	if dash == nil {
		t.Fatal("dashboard.enabled: no dashboard ConfigMap")
	}
	if dash.GetNamespace() != "monitoring" || dash.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap in %q with labels %v", dash.GetNamespace(), dash.GetLabels())
	}
	js, _, _ := unstructured.NestedString(dash.Object, "data", "variant-autoscaler.json")
	want, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "grafana", "variant-autoscaler.json"))
	if err != nil {
		t.Fatal(err)
	}
	if js != strings.TrimRight(string(want), "\n") {
		t.Errorf("the dashboard ConfigMap does not hold config/grafana/variant-autoscaler.json")
	}
}

// Values the manager would refuse fail the render with a message naming them.
func TestRenderRefusesBadValues(t *testing.T) {
	for name, c := range map[string]struct {
		vals    map[string]any
		wantErr string
	}{
		"unknown actuation":             {map[string]any{"actuation": "patch"}, `/actuation': value must be one of 'metrics', 'scale'`},
		"unknown load source":           {map[string]any{"loadSource": "kafka"}, `/loadSource': value must be one of`},
		"unknown value":                 {map[string]any{"watchNamespace": []any{"a"}}, `watchNamespace`},
		"token over plain HTTP":         {map[string]any{"prometheus": map[string]any{"url": "http://prom:9090", "tokenSecret": map[string]any{"name": "t"}}}, "needs an https:// prometheus.url"},
		"two leaders":                   {map[string]any{"replicas": 2, "leaderElection": map[string]any{"enabled": false}}, "replicas > 1 needs leaderElection.enabled"},
		"prometheus in the wrong place": {map[string]any{"config": map[string]any{"operator": map[string]any{"PROMETHEUS_BASE_URL": "http://x"}}}, "config.operator.PROMETHEUS_BASE_URL"},
		"schema: replicas negative":     {map[string]any{"replicas": -1}, "replicas"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Render(ChartDir(), namespace, c.vals)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Render error = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// The chart carries copies of the CRD and the dashboard (Helm reads nothing
// outside the chart); they must equal the originals.
func TestChartCopiesInSync(t *testing.T) {
	for copyPath, orig := range map[string]string{
		"crds/llmd.ai_variantautoscalings.yaml": "config/crd/bases/llmd.ai_variantautoscalings.yaml",
		"files/role.yaml":                       "config/rbac/role.yaml",
		"dashboards/variant-autoscaler.json":    "config/grafana/variant-autoscaler.json",
	} {
		a, err := os.ReadFile(filepath.Join(ChartDir(), copyPath))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(RepoRoot(), orig))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("charts/variant-autoscaler/%s differs from %s: run `make manifests` (it copies it) and commit the copy", copyPath, orig)
		}
	}
}
