package helm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func decodeAll(t *testing.T, data string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(data), 4096)
	var out []*unstructured.Unstructured
	for {
		var obj map[string]any
		err := dec.Decode(&obj)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding YAML: %v", err)
		}
		if len(obj) > 0 {
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
}

func servedKinds(t *testing.T) map[schema.GroupVersionKind]bool {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	_, lists, err := dc.ServerGroupsAndResources()
	if err != nil {
		t.Fatal(err)
	}
	out := map[schema.GroupVersionKind]bool{}
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range l.APIResources {
			out[gv.WithKind(r.Kind)] = true
		}
	}
	return out
}

// dryRunApply has the API server accept the served objects in a
// server-side dry run and returns the kinds it skipped (no CRD for them).
func dryRunApply(t *testing.T, objs []*unstructured.Unstructured) (skipped []string) {
	t.Helper()
	served := servedKinds(t)
	var stream bytes.Buffer
	for _, o := range objs {
		if !served[o.GroupVersionKind()] {
			skipped = append(skipped, o.GetKind())
			continue
		}
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	out, err := env.Kubectl(context.Background(), stream.String(), "apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f", "-")
	if err != nil {
		t.Fatalf("server-side dry run: %v\n%s", err, out)
	}
	return skipped
}

// configOf parses the rendered ConfigMaps with the manager's environment
// (the literal env values of its container) as the manager does.
func configOf(t *testing.T, objs []*unstructured.Unstructured, namespace string) *config.Config {
	t.Helper()
	data := map[string]map[string]string{}
	env := map[string]string{}
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				t.Fatal(err)
			}
			for _, e := range d.Spec.Template.Spec.Containers[0].Env {
				if e.ValueFrom == nil {
					env[e.Name] = e.Value
				}
			}
		}
	}
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" || !config.IsConfigMapName(o.GetName()) {
			continue
		}
		if o.GetNamespace() != namespace {
			t.Errorf("ConfigMap %s is in %q, not the manager's namespace %q", o.GetName(), o.GetNamespace(), namespace)
		}
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cm); err != nil {
			t.Fatal(err)
		}
		data[cm.Name] = cm.Data
	}
	if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, slices.Sorted(slices.Values(config.Names()))) {
		t.Errorf("ConfigMaps %v, want %v", got, config.Names())
	}
	cfg, err := config.Load(data, env)
	if err != nil {
		t.Fatalf("the rendered ConfigMaps and environment do not validate: %v", err)
	}
	return cfg
}

// The API server accepts the chart with its defaults and with every value
// changed; the rendered ConfigMaps validate as the manager reads them.
func TestChartAcceptedByServer(t *testing.T) {
	ctx := context.Background()
	for _, ns := range []string{config.DefaultNamespace, "va-system", "team-a", "team-b", "monitoring"} {
		if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("defaults", func(t *testing.T) {
		objs := decodeAll(t, renderChart(t, config.DefaultNamespace))
		if skipped := dryRunApply(t, objs); len(skipped) > 0 {
			t.Errorf("skipped %v: the defaults need no CRD beyond the chart's", skipped)
		}
		cfg := configOf(t, objs, config.DefaultNamespace)
		if _, ok := cfg.UnitCosts["H100"]; !ok {
			t.Errorf("default unit costs lack H100: %v", cfg.UnitCosts)
		}
	})
	t.Run("custom", func(t *testing.T) {
		objs := decodeAll(t, renderChart(t, "va-system", "custom.yaml"))
		if diff := cmp.Diff([]string{"ServiceMonitor"}, dryRunApply(t, objs)); diff != "" {
			t.Errorf("skipped kinds (-want +got):\n%s", diff)
		}
		cfg := configOf(t, objs, "va-system")
		if p := cfg.Operator.Prometheus; p.BaseURL != "https://prometheus-k8s.monitoring.svc:9091" || p.TokenPath == "" {
			t.Errorf("Prometheus URL %q, token path %q: the manager would not reach Prometheus", p.BaseURL, p.TokenPath)
		}
		if _, _, err := cfg.SLOFor("team-a", "meta-llama/Llama-3.1-8B-Instruct", "Gold"); err != nil {
			t.Errorf("the custom service class does not resolve: %v", err)
		}
	})
}

// Labels only one of the two tools sets; they say who installed an object.
var toolLabels = []string{"app.kubernetes.io/managed-by", "helm.sh/chart", "app.kubernetes.io/instance", "app.kubernetes.io/version"}

// normalize keys an object by kind, namespace and name, without the labels
// of the installing tool (and the CRD, which Helm installs as it is in
// crds/, without the part-of label kustomize adds).
func normalize(t *testing.T, objs []*unstructured.Unstructured) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range objs {
		o = o.DeepCopy()
		labels := o.GetLabels()
		for _, l := range toolLabels {
			delete(labels, l)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			delete(labels, "app.kubernetes.io/part-of")
		}
		if len(labels) == 0 {
			unstructured.RemoveNestedField(o.Object, "metadata", "labels")
		} else {
			o.SetLabels(labels)
		}
		key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
		if _, dup := out[key]; dup {
			t.Fatalf("%s rendered twice", key)
		}
		out[key] = o.Object
	}
	return out
}

// config/default and the chart with the equivalent values
// (hack/helmtest/testdata/kustomize-equivalent.yaml) install the same
// objects; the ServiceMonitor equals config/prometheus's as config/default
// would install it (its `- ../prometheus` line uncommented).
func TestChartMatchesKustomize(t *testing.T) {
	chart := decodeAll(t, renderChart(t, config.DefaultNamespace, "kustomize-equivalent.yaml"))
	kust := decodeAll(t, kustomize(t, "config/default"))
	for _, sm := range decodeAll(t, kustomize(t, "config/prometheus")) {
		// What config/default's namespace, labels and name prefix do to it.
		sm.SetNamespace(config.DefaultNamespace)
		sm.SetName("workload-variant-autoscaler-" + sm.GetName())
		labels := sm.GetLabels()
		labels["app.kubernetes.io/part-of"] = "variant-autoscaler"
		sm.SetLabels(labels)
		kust = append(kust, sm)
	}
	want, got := normalize(t, kust), normalize(t, chart)
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(got))); diff != "" {
		t.Errorf("objects (-kustomize +chart):\n%s", diff)
	}
	for key, w := range want {
		if g, ok := got[key]; ok {
			if diff := cmp.Diff(w, g); diff != "" {
				t.Errorf("%s (-kustomize +chart):\n%s", key, diff)
			}
		}
	}
	// Every object of the chart but the CRD carries the part-of label.
	for _, o := range chart {
		if o.GetKind() != "CustomResourceDefinition" && o.GetLabels()["app.kubernetes.io/part-of"] != "variant-autoscaler" {
			t.Errorf("%s %s lacks app.kubernetes.io/part-of", o.GetKind(), o.GetName())
		}
	}
}
