package demo

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
)

// Namespace holds the demo's Deployments and VariantAutoscalings.
const Namespace = "llm-serving"

// Model IDs of the demo; the shipped service-classes-config
// (config/manager) has an SLO for each.
const (
	ModelLlama8B  = "meta-llama/Llama-3.1-8B-Instruct"
	ModelLlama70B = "meta-llama/Llama-3.1-70B-Instruct"
	ModelQwen7B   = "Qwen/Qwen2.5-7B-Instruct"
)

// variant is one sample variant: a Deployment and its VA.
type variant struct {
	name, model, accelerator string
	count                    int32
	maxReplicas              int32
	// profile: maxBatchSize, alpha, beta, gamma, delta (ms): the servers'
	// true one (servers.go).
	batch                     int32
	alpha, beta, gamma, delta string
	// specScale, when set, multiplies the true profile in spec.profile: a
	// profile measured elsewhere (0.5: twice too fast), which the operator
	// finds contradicted by the servers' metrics and replaces with the
	// one it learns.
	specScale float64
}

// variants are the demo's 3 models and 8 variants over H100, A100 and L40S
// (illustrative profiles; the 70B model needs several accelerators).
var variants = []variant{
	{"llama-8b-h100", ModelLlama8B, "H100", 1, 10, 64, "6", "0.06", "12", "0.004", 0},
	{"llama-8b-a100", ModelLlama8B, "A100", 1, 10, 48, "9", "0.1", "20", "0.008", 0},
	{"llama-8b-l40s", ModelLlama8B, "L40S", 1, 6, 32, "14", "0.2", "30", "0.015", 0},
	{"llama-70b-h100", ModelLlama70B, "H100", 2, 10, 64, "18", "0.15", "40", "0.012", 0},
	{"llama-70b-a100", ModelLlama70B, "A100", 4, 10, 32, "26", "0.3", "60", "0.02", 0},
	{"qwen-7b-h100", ModelQwen7B, "H100", 1, 10, 64, "5", "0.05", "10", "0.004", 0},
	{"qwen-7b-a100", ModelQwen7B, "A100", 1, 10, 48, "8", "0.09", "18", "0.007", 0},
	{"qwen-7b-l40s", ModelQwen7B, "L40S", 1, 6, 32, "12", "0.18", "26", "0.014", 0.5},
}

// StaleProfileVariant is the variant whose spec.profile is twice too fast.
const StaleProfileVariant = "qwen-7b-l40s"

// truth is the variant's true profile.
func (v variant) truth() estimator.Params {
	num := func(s string) float64 {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			panic(fmt.Sprintf("demo variant %s: profile value %q: %v", v.name, s, err))
		}
		return x
	}
	return estimator.Params{Alpha: num(v.alpha), Beta: num(v.beta), Gamma: num(v.gamma), Delta: num(v.delta)}
}

// specProfile is the variant's spec.profile: the true one, times specScale
// when set.
func (v variant) specProfile() llmdv1alpha1.Profile {
	t, scale := v.truth(), cmp.Or(v.specScale, 1)
	f := func(x float64) string { return llmdv1alpha1.FormatDecimal(x*scale, 4) }
	return llmdv1alpha1.Profile{MaxBatchSize: v.batch,
		Decode:  llmdv1alpha1.DecodeParameters{Alpha: f(t.Alpha), Beta: f(t.Beta)},
		Prefill: llmdv1alpha1.PrefillParameters{Gamma: f(t.Gamma), Delta: f(t.Delta)}}
}

// VariantNames returns the names of the demo's variants (VA and Deployment).
// Pools are the demo's fake GPU nodes: fewer GPUs than the variants'
// maxReplicas could use, so a busy hour leaves some pods Pending.
func Pools() []cluster.NodePool {
	return []cluster.NodePool{
		{Accelerator: "H100", Nodes: 2, GPUsPerNode: 8},
		{Accelerator: "A100", Nodes: 2, GPUsPerNode: 8},
		{Accelerator: "L40S", Nodes: 1, GPUsPerNode: 8},
		{Accelerator: "MI300X", Nodes: 1, GPUsPerNode: 8},
	}
}

func VariantNames() []string {
	out := make([]string, len(variants))
	for i, v := range variants {
		out[i] = v.name
	}
	return out
}

// objects returns the variant's VA and its one-replica Deployment.
func (v variant) objects() (*llmdv1alpha1.VariantAutoscaling, *appsv1.Deployment) {
	va := &llmdv1alpha1.VariantAutoscaling{
		ObjectMeta: metav1.ObjectMeta{Name: v.name, Namespace: Namespace,
			Labels: map[string]string{"llmd.ai/model": lastSegment(v.model)}},
		Spec: llmdv1alpha1.VariantAutoscalingSpec{
			ScaleTargetRef:   llmdv1alpha1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: v.name},
			ModelID:          v.model,
			Accelerator:      v.accelerator,
			AcceleratorCount: v.count,
			MaxReplicas:      ptr.To(v.maxReplicas),
			Profile:          v.specProfile(),
		},
	}
	labels := map[string]string{"app": v.name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: v.name, Namespace: Namespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       cluster.GPUPodSpec(v.accelerator, v.count),
			},
		},
	}
	return va, d
}

func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// demoOverrides make the operator lively: re-plan often, short
// stabilization, scale idle models to zero after a minute.
var demoOverrides = map[string]map[string]string{
	config.OperatorConfigMapName: {
		config.KeyGlobalOptInterval:           "10s",
		config.KeyGlobalPassInterval:          "1m",
		config.KeyStabilizationWindow:         "30s",
		config.KeyScaleToZeroDefaultEnabled:   "true",
		config.KeyScaleToZeroDefaultRetention: "1m",
	},
	config.ScaleToZeroConfigMapName: {
		config.ScaleToZeroDefaultsKey: "enableScaleToZero: true\nretentionPeriod: 1m\n",
	},
}

// configMaps reads the four ConfigMaps shipped in config/manager and applies
// the demo's overrides, so the demo runs on the real defaults.
func configMaps(repoRoot, namespace string) ([]*corev1.ConfigMap, error) {
	var out []*corev1.ConfigMap
	for _, name := range config.Names() {
		path := filepath.Join(repoRoot, "config", "manager", name+".yaml")
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading the shipped ConfigMap: %w", err)
		}
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict(data, &cm); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if cm.Name != name {
			return nil, fmt.Errorf("%s holds ConfigMap %q, want %q", path, cm.Name, name)
		}
		cm.Namespace = namespace
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for k, v := range demoOverrides[name] {
			cm.Data[k] = v
		}
		// Per-model entries would override the demo's defaults.
		if name == config.ScaleToZeroConfigMapName {
			for k := range cm.Data {
				if k != config.ScaleToZeroDefaultsKey {
					delete(cm.Data, k)
				}
			}
		}
		out = append(out, &cm)
	}
	return out, nil
}
