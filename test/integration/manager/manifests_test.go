package manager

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Kinds whose CRDs a bare API server lacks; they are rendered, not applied.
var optionalKinds = []string{"ServiceMonitor", "ScaledObject"}

// decodeAll splits a multi-document YAML stream into objects.
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

// servedKinds returns the kinds the API server serves.
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

// dryRunApply applies the served objects with a server-side dry run and
// returns the kinds applied and skipped.
func dryRunApply(t *testing.T, ctx context.Context, objs []*unstructured.Unstructured, extraArgs ...string) (applied, skipped []string) {
	t.Helper()
	g := NewWithT(t)
	served := servedKinds(t)
	var stream bytes.Buffer
	for _, o := range objs {
		if !served[o.GroupVersionKind()] {
			skipped = append(skipped, o.GetKind())
			continue
		}
		data, err := yaml.Marshal(o.Object)
		g.Expect(err).NotTo(HaveOccurred())
		stream.WriteString("---\n")
		stream.Write(data)
		applied = append(applied, o.GetKind())
	}
	args := append([]string{"apply", "--dry-run=server", "--server-side", "--force-conflicts", "-f", "-"}, extraArgs...)
	out, err := env.Kubectl(ctx, stream.String(), args...)
	g.Expect(err).NotTo(HaveOccurred(), "server-side dry run:\n%s", out)
	return applied, skipped
}

// config/default renders with the built kubectl, and the API server accepts
// every object of a kind it serves.
func TestDefaultManifestsAcceptedByServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	rendered, err := kustomize(ctx, "config/default")
	g.Expect(err).NotTo(HaveOccurred())
	objs := decodeAll(t, rendered)

	applied, skipped := dryRunApply(t, ctx, objs)
	g.Expect(applied).To(ContainElements("Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole", "Role",
		"ClusterRoleBinding", "RoleBinding", "ConfigMap", "Service", "Deployment",
		"FlowSchema", "PriorityLevelConfiguration"))
	for _, k := range skipped {
		g.Expect(optionalKinds).To(ContainElement(k))
	}

	// Every object lives in the operator's namespace, and the four
	// ConfigMaps keep the names the manager looks up.
	var configMaps []string
	for _, o := range objs {
		if o.GetNamespace() != "" {
			g.Expect(o.GetNamespace()).To(Equal(config.DefaultNamespace), "%s %s", o.GetKind(), o.GetName())
		}
		if o.GetKind() == "ConfigMap" {
			configMaps = append(configMaps, o.GetName())
		}
	}
	g.Expect(configMaps).To(ConsistOf(config.Names()))
	checkAPFMatchesServiceAccount(t, objs)
}

// checkAPFMatchesServiceAccount: the FlowSchema names the rendered
// ServiceAccount (its name carries the prefix, which kustomize does not
// follow into FlowSchema subjects) and the rendered priority level.
func checkAPFMatchesServiceAccount(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	g := NewWithT(t)
	var sa, levels []string
	var fs *flowcontrolv1.FlowSchema
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount":
			sa = append(sa, o.GetNamespace()+"/"+o.GetName())
		case "PriorityLevelConfiguration":
			levels = append(levels, o.GetName())
		case "FlowSchema":
			fs = &flowcontrolv1.FlowSchema{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, fs)).To(Succeed())
		}
	}
	g.Expect(fs).NotTo(BeNil())
	g.Expect(levels).To(ContainElement(fs.Spec.PriorityLevelConfiguration.Name))
	g.Expect(fs.Spec.MatchingPrecedence).To(BeNumerically("<", 9000), "checked before the built-in service-accounts schema")
	g.Expect(fs.Spec.Rules).To(HaveLen(1))
	g.Expect(fs.Spec.Rules[0].Subjects).To(HaveLen(1))
	subj := fs.Spec.Rules[0].Subjects[0].ServiceAccount
	g.Expect(subj).NotTo(BeNil())
	g.Expect(sa).To(ConsistOf(subj.Namespace + "/" + subj.Name))
}

// The Deployment is hardened: non-root, read-only root filesystem, no
// capabilities, RuntimeDefault seccomp, resources and probes.
func TestDefaultDeploymentIsHardened(t *testing.T) {
	g := NewWithT(t)
	rendered, err := kustomize(context.Background(), "config/default")
	g.Expect(err).NotTo(HaveOccurred())
	var d *appsv1.Deployment
	for _, o := range decodeAll(t, rendered) {
		if o.GetKind() == "Deployment" {
			d = &appsv1.Deployment{}
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d)).To(Succeed())
		}
	}
	g.Expect(d).NotTo(BeNil())
	g.Expect(d.Name).To(Equal("workload-variant-autoscaler-controller-manager"))
	pod := d.Spec.Template.Spec
	g.Expect(pod.ServiceAccountName).To(Equal("workload-variant-autoscaler-controller-manager"))
	g.Expect(pod.SecurityContext.RunAsNonRoot).To(HaveValue(BeTrue()))
	g.Expect(pod.SecurityContext.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault))
	g.Expect(pod.Containers).To(HaveLen(1))
	c := pod.Containers[0]
	g.Expect(c.SecurityContext.ReadOnlyRootFilesystem).To(HaveValue(BeTrue()))
	g.Expect(c.SecurityContext.AllowPrivilegeEscalation).To(HaveValue(BeFalse()))
	g.Expect(c.SecurityContext.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	g.Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceCPU))
	g.Expect(c.Resources.Requests).To(HaveKey(corev1.ResourceMemory))
	g.Expect(c.Resources.Limits).To(HaveKey(corev1.ResourceMemory))
	g.Expect(c.LivenessProbe.HTTPGet.Path).To(Equal("/healthz"))
	g.Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/readyz"))
	g.Expect(c.Args).To(ContainElement("--leader-elect"))
}

// Least privilege: cluster-wide, the manager writes only VA status, the
// /scale of targets and Events; its namespaced Role covers its Lease.
func TestRBACIsLeastPrivilege(t *testing.T) {
	g := NewWithT(t)
	rendered, err := kustomize(context.Background(), "config/rbac")
	g.Expect(err).NotTo(HaveOccurred())
	writeVerbs := []string{"create", "update", "patch", "delete", "deletecollection", "*"}
	allowedClusterWrites := []string{"variantautoscalings/status", "deployments/scale", "statefulsets/scale", "events"}
	var sawClusterRole, sawRole bool
	for _, o := range decodeAll(t, rendered) {
		if o.GetName() != "manager-role" {
			continue
		}
		var rules []rbacv1.PolicyRule
		switch o.GetKind() {
		case "ClusterRole":
			var cr rbacv1.ClusterRole
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cr)).To(Succeed())
			rules, sawClusterRole = cr.Rules, true
			for _, r := range rules {
				if slices.ContainsFunc(r.Verbs, func(v string) bool { return slices.Contains(writeVerbs, v) }) {
					for _, res := range r.Resources {
						g.Expect(allowedClusterWrites).To(ContainElement(res), "cluster-wide write on %s", res)
					}
				}
				g.Expect(r.Resources).NotTo(ContainElement("*"))
				g.Expect(r.Resources).NotTo(ContainElement("secrets"))
			}
		case "Role":
			var role rbacv1.Role
			g.Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &role)).To(Succeed())
			sawRole = true
			g.Expect(role.Namespace).To(Equal(config.DefaultNamespace))
			var resources []string
			for _, r := range role.Rules {
				resources = append(resources, r.Resources...)
			}
			g.Expect(resources).To(ContainElements("leases", "configmaps"))
		}
	}
	g.Expect(sawClusterRole).To(BeTrue())
	g.Expect(sawRole).To(BeTrue())
}

// The samples render; the API server accepts the Deployments, VAs and HPAs;
// the KEDA ScaledObjects and the ServiceMonitor are well-formed.
func TestSamplesAcceptedByServer(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "samples"
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	rendered, err := kustomize(ctx, "config/samples")
	g.Expect(err).NotTo(HaveOccurred())
	objs := decodeAll(t, rendered)
	applied, skipped := dryRunApply(t, ctx, objs, "-n", ns)
	g.Expect(skipped).To(BeEmpty())
	count := func(kind string) int {
		return len(slices.DeleteFunc(slices.Clone(applied), func(k string) bool { return k != kind }))
	}
	g.Expect(count("VariantAutoscaling")).To(Equal(6))
	g.Expect(count("Deployment")).To(Equal(6))
	g.Expect(count("HorizontalPodAutoscaler")).To(BeNumerically(">=", 1))

	// Every HPA scales on wva_desired_replicas with AverageValue 1.
	for _, o := range objs {
		if o.GetKind() != "HorizontalPodAutoscaler" {
			continue
		}
		metrics, _, _ := unstructured.NestedSlice(o.Object, "spec", "metrics")
		g.Expect(metrics).To(HaveLen(1))
		m := metrics[0].(map[string]any)
		name, _, _ := unstructured.NestedString(m, "external", "metric", "name")
		g.Expect(name).To(Equal("wva_desired_replicas"))
		target, _, _ := unstructured.NestedStringMap(m, "external", "target")
		g.Expect(target).To(Equal(map[string]string{"type": "AverageValue", "averageValue": "1"}))
	}

	keda, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "samples", "keda-scaledobject.yaml"))
	g.Expect(err).NotTo(HaveOccurred())
	scaled := decodeAll(t, string(keda))
	g.Expect(scaled).NotTo(BeEmpty())
	for _, o := range scaled {
		g.Expect(o.GetKind()).To(Equal("ScaledObject"))
		triggers, _, _ := unstructured.NestedSlice(o.Object, "spec", "triggers")
		g.Expect(triggers).To(HaveLen(1))
		query, _, _ := unstructured.NestedString(triggers[0].(map[string]any), "metadata", "query")
		g.Expect(query).To(ContainSubstring("wva_desired_replicas{"))
	}

	monitor, err := kustomize(ctx, "config/prometheus")
	g.Expect(err).NotTo(HaveOccurred())
	mons := decodeAll(t, monitor)
	g.Expect(mons).To(HaveLen(1))
	g.Expect(mons[0].GetKind()).To(Equal("ServiceMonitor"))
}

// The four shipped ConfigMaps parse and validate as the operator reads them.
func TestShippedConfigMapsAreValid(t *testing.T) {
	g := NewWithT(t)
	data := map[string]map[string]string{}
	for _, name := range config.Names() {
		raw, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "manager", name+".yaml"))
		g.Expect(err).NotTo(HaveOccurred())
		var cm corev1.ConfigMap
		g.Expect(yaml.UnmarshalStrict(raw, &cm)).To(Succeed())
		g.Expect(cm.Name).To(Equal(name))
		data[name] = cm.Data
	}
	cfg, err := config.Load(data, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(cfg.UnitCosts).To(HaveKey("H100"))
	g.Expect(cfg.ServiceClasses.Len()).To(BeNumerically(">=", 1))
	// Every sample VA's model has an SLO and its accelerator a cost.
	rendered, err := kustomize(context.Background(), "config/samples")
	g.Expect(err).NotTo(HaveOccurred())
	for _, o := range decodeAll(t, rendered) {
		if o.GetKind() != "VariantAutoscaling" {
			continue
		}
		model, _, _ := unstructured.NestedString(o.Object, "spec", "modelID")
		acc, _, _ := unstructured.NestedString(o.Object, "spec", "accelerator")
		_, _, err := cfg.SLOFor("samples", model, "")
		g.Expect(err).NotTo(HaveOccurred(), "SLO of %s", model)
		g.Expect(cfg.UnitCosts).To(HaveKey(acc))
	}
}
