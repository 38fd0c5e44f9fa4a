package harness

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// The cluster a run builds. Every VA has its own Deployment. Groups are
// spread over the namespaces round robin; a model name is shared by the
// groups of up to Namespaces namespaces, as the same model is served by
// several teams.

// Accelerators are the accelerator types of the variants.
var Accelerators = []string{"H100", "A100", "L40S", "MI300X"}

// accelerator is the unit cost and the one-accelerator profile of a type.
type accelerator struct {
	device                    string
	cost                      float64
	batch                     int32
	alpha, beta, gamma, delta float64
}

var accelerators = map[string]accelerator{
	"H100":   {"NVIDIA-H100-80GB-HBM3", 100, 64, 8, 0.3, 15, 0.02},
	"A100":   {"NVIDIA-A100-80GB", 60, 48, 12, 0.45, 25, 0.035},
	"L40S":   {"NVIDIA-L40S", 30, 32, 18, 0.7, 40, 0.06},
	"MI300X": {"AMD-MI300X", 80, 64, 9, 0.32, 17, 0.022},
}

// groupAccelerators are the two accelerator types of a group, by group
// index modulo 4. MI300X is only in every fourth group, so a change of its
// unit cost affects a quarter of the groups.
var groupAccelerators = [4][2]string{
	{"H100", "A100"},
	{"A100", "L40S"},
	{"L40S", "H100"},
	{"MI300X", "A100"},
}

// QuarterAccelerator is the accelerator whose cost change affects 1/4 of the groups.
const QuarterAccelerator = "MI300X"

// tokenShapes are the request shapes (input, output tokens) of the groups.
var tokenShapes = [][2]float64{{512, 128}, {1024, 256}, {256, 64}, {2048, 128}}

// Service classes: models with an even number are premium.
const (
	premiumTTFT, premiumITL   = 2000, 80
	standardTTFT, standardITL = 4000, 120
)

// Shape is the size of the cluster.
type Shape struct {
	// N is the number of VariantAutoscalings.
	N int
	// Groups is the number of model groups; 0 means N / VariantsPerGroup.
	Groups int
	// VariantsPerGroup is used when Groups is 0 (default 4).
	VariantsPerGroup int
	// Namespaces the groups are spread over (default 10).
	Namespaces int
	// Replicas of every VA's Deployment; 0 means 1 and 2 alternately.
	Replicas int32
}

func (s Shape) withDefaults() Shape {
	if s.VariantsPerGroup <= 0 {
		s.VariantsPerGroup = 4
	}
	if s.Namespaces <= 0 {
		s.Namespaces = 10
	}
	if s.Groups <= 0 {
		s.Groups = max(1, (s.N+s.VariantsPerGroup-1)/s.VariantsPerGroup)
	}
	s.Groups = min(s.Groups, max(s.N, 1))
	return s
}

// NamespaceName is the name of the i-th load namespace.
func NamespaceName(i int) string { return fmt.Sprintf("load-%02d", i) }

// FloorNamespace holds the VAs the write floor is measured on; the operator
// does not watch it.
const FloorNamespace = "load-floor"

// VA is the harness's record of one VariantAutoscaling.
type VA struct {
	Name       string
	Namespace  string
	Group      int
	Index      int // within the group
	Generation int64
	// Replicas of its Deployment (spec, and status once simulated).
	Replicas int32
	Deleted  bool
	Obj      *llmdv1alpha1.VariantAutoscaling
}

// Key is the VA's namespaced name.
func (v *VA) Key() types.NamespacedName {
	return types.NamespacedName{Namespace: v.Namespace, Name: v.Name}
}

// Group is the harness's record of one model group.
type Group struct {
	Index int
	Key   modelgroup.Key
	VAs   []*VA
	Load  modelgroup.Load
}

// Model is what the harness knows the cluster holds: the objects it
// created, the ConfigMaps, the load. It predicts each VA's status with the
// product's own plan function.
type Model struct {
	Shape      Shape
	Namespaces []string
	Groups     []*Group
	VAs        []*VA
	// ConfigMaps holds the data of the operator ConfigMaps, by name.
	ConfigMaps map[string]map[string]string
	store      *config.Store
	cache      *allocator.CapacityCache
}

// NewModel builds the cluster's description; steadyInterval is the initial
// GLOBAL_OPT_INTERVAL.
func NewModel(shape Shape, optInterval time.Duration) (*Model, error) {
	shape = shape.withDefaults()
	m := &Model{Shape: shape, store: config.NewStore(nil), cache: allocator.NewCapacityCache(allocator.DefaultCacheSize)}
	for i := range shape.Namespaces {
		m.Namespaces = append(m.Namespaces, NamespaceName(i))
	}
	models := map[string]bool{}
	for g := range shape.Groups {
		model := fmt.Sprintf("model-%04d", g/shape.Namespaces)
		models[model] = true
		shapeIn := tokenShapes[(g/4)%len(tokenShapes)]
		m.Groups = append(m.Groups, &Group{
			Index: g,
			Key:   modelgroup.Key{Namespace: NamespaceName(g % shape.Namespaces), ModelID: model},
			Load: modelgroup.Load{
				ArrivalRate:     float64(4 + (g*37)%57),
				AvgInputTokens:  shapeIn[0],
				AvgOutputTokens: shapeIn[1],
			},
		})
	}
	for i := range shape.N {
		g := m.Groups[i%shape.Groups]
		idx := len(g.VAs)
		va := &VA{
			Name:       fmt.Sprintf("%s-v%d", g.Key.ModelID, idx),
			Namespace:  g.Key.Namespace,
			Group:      g.Index,
			Index:      idx,
			Generation: 1,
			Replicas:   int32(1 + i%2),
		}
		if shape.Replicas > 0 {
			va.Replicas = shape.Replicas
		}
		va.Obj = buildVA(va, g)
		g.VAs = append(g.VAs, va)
		m.VAs = append(m.VAs, va)
	}

	var premium, standard []string
	for name := range models {
		var n int
		_, _ = fmt.Sscanf(name, "model-%d", &n)
		if n%2 == 0 {
			premium = append(premium, name)
		} else {
			standard = append(standard, name)
		}
	}
	slices.Sort(premium)
	slices.Sort(standard)
	costs := map[string]string{}
	for _, a := range Accelerators {
		costs[a] = framework.UnitCost(accelerators[a].device, accelerators[a].cost)
	}
	m.ConfigMaps = map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval:   optInterval.String(),
			config.KeyGlobalPassInterval:  "1h",
			config.KeyStabilizationWindow: "0s",
		},
		config.UnitCostsConfigMapName: costs,
		config.ServiceClassesConfigMapName: {
			"premium.yaml":  serviceClass("Premium", 1, premiumTTFT, premiumITL, premium),
			"standard.yaml": serviceClass("Standard", 2, standardTTFT, standardITL, standard),
		},
	}
	for name, data := range m.ConfigMaps {
		if _, err := m.store.Update(name, data); err != nil {
			return nil, fmt.Errorf("the harness's ConfigMap %s is invalid: %w", name, err)
		}
	}
	return m, nil
}

// serviceClass renders a class; a class needs at least one entry.
func serviceClass(name string, priority int, ttft, itl float64, models []string) string {
	if len(models) == 0 {
		models = []string{"unused-model"}
	}
	return framework.ServiceClass(name, priority, ttft, itl, models...)
}

func decimal(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// buildVA returns the VA object of a variant: accelerator and count by its
// index in the group, a profile from the accelerator (two accelerators per
// replica are faster).
func buildVA(va *VA, g *Group) *llmdv1alpha1.VariantAutoscaling {
	acc := groupAccelerators[g.Index%4][va.Index%2]
	count := int32(1 + (va.Index/2)%2)
	a := accelerators[acc]
	f := 1.0
	if count == 2 {
		f = 0.6
	}
	return framework.MakeVA(va.Name, va.Namespace).
		Model(g.Key.ModelID).
		Accelerator(acc).
		AcceleratorCount(count).
		Profile(a.batch, decimal(a.alpha*f), decimal(a.beta*f), decimal(a.gamma*f), decimal(a.delta*f)).
		Max(20).
		Label("llmd.ai/load-test", "true").
		Obj()
}

// Deployment returns the Deployment of a VA: its pods request the VA's
// accelerators and select their node pool, so kube-scheduler places them on
// kwok's nodes.
func (m *Model) Deployment(va *VA) *appsv1.Deployment {
	d := framework.MakeDeployment(va.Name, va.Namespace).Replicas(va.Replicas).Obj()
	d.Spec.Template.Spec = cluster.GPUPodSpec(va.Obj.Spec.Accelerator, va.Obj.Spec.AcceleratorCount)
	return d
}

// GPUs returns the accelerators every Deployment's pods request together,
// by accelerator type.
func (m *Model) GPUs() map[string]int {
	out := map[string]int{}
	for _, va := range m.VAs {
		out[va.Obj.Spec.Accelerator] += int(va.Replicas) * int(va.Obj.Spec.AcceleratorCount)
	}
	return out
}

// Pods returns the number of pods the Deployments ask for.
func (m *Model) Pods() int {
	n := 0
	for _, va := range m.VAs {
		n += int(va.Replicas)
	}
	return n
}

// NodePools sizes one pool per accelerator type so that every pod fits,
// with gpusPerNode GPUs a node and spare more GPUs (rounded up to nodes).
func (m *Model) NodePools(gpusPerNode int, spare float64) []cluster.NodePool {
	gpus := m.GPUs()
	out := make([]cluster.NodePool, 0, len(Accelerators))
	for _, a := range Accelerators {
		need := int(math.Ceil(float64(gpus[a]) * (1 + spare)))
		if need == 0 {
			continue
		}
		out = append(out, cluster.NodePool{Accelerator: a, Nodes: (need + gpusPerNode - 1) / gpusPerNode, GPUsPerNode: gpusPerNode})
	}
	return out
}

// Config is the configuration the model's ConfigMaps put in force.
func (m *Model) Config() *config.Config { return m.store.Config() }

// SetConfigMapKey records a new value of one key of an operator ConfigMap.
func (m *Model) SetConfigMapKey(name, key, value string) error {
	data := map[string]string{}
	for k, v := range m.ConfigMaps[name] {
		data[k] = v
	}
	data[key] = value
	if _, err := m.store.Update(name, data); err != nil {
		return err
	}
	m.ConfigMaps[name] = data
	return nil
}

// UnitCost returns the unit cost of an accelerator in force.
func (m *Model) UnitCost(acc string) float64 { return m.Config().UnitCosts[acc].Cost }

// Live returns the VAs that are not deleted.
func (m *Model) Live() []*VA {
	out := make([]*VA, 0, len(m.VAs))
	for _, va := range m.VAs {
		if !va.Deleted {
			out = append(out, va)
		}
	}
	return out
}

// GroupsWithAccelerator returns the groups with a live VA of the accelerator.
func (m *Model) GroupsWithAccelerator(acc string) []*Group {
	var out []*Group
	for _, g := range m.Groups {
		for _, va := range g.VAs {
			if !va.Deleted && va.Obj.Spec.Accelerator == acc {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// LiveMembers counts the live VAs of the groups.
func LiveMembers(groups []*Group) int {
	n := 0
	for _, g := range groups {
		for _, va := range g.VAs {
			if !va.Deleted {
				n++
			}
		}
	}
	return n
}

// Summary is the part of a VA's status that a decision determines; times
// are left out. It is comparable.
type Summary struct {
	ObservedGeneration int64
	CurrentReplicas    int32
	HasDesired         bool
	DesiredReplicas    int32
	LoadShare          string
	PredictedTTFT      string
	PredictedITL       string
	CostPerHour        string
	Reason             string
	Conditions         string
}

// Summarize reduces a status to its Summary.
func Summarize(st *llmdv1alpha1.VariantAutoscalingStatus) Summary {
	s := Summary{ObservedGeneration: st.ObservedGeneration, CurrentReplicas: st.CurrentReplicas}
	if st.DesiredReplicas != nil {
		s.HasDesired, s.DesiredReplicas = true, *st.DesiredReplicas
	}
	if d := st.Decision; d != nil {
		s.LoadShare, s.PredictedTTFT, s.PredictedITL, s.CostPerHour, s.Reason =
			d.LoadShare, d.PredictedTTFT, d.PredictedITL, d.CostPerHour, string(d.Reason)
	}
	conds := slices.Clone(st.Conditions)
	slices.SortFunc(conds, func(a, b metav1.Condition) int { return cmp.Compare(a.Type, b.Type) })
	for _, c := range conds {
		// The profile learner's condition depends on samples the harness
		// does not model (controller.PlanGroupStatuses does not set it).
		if c.Type == llmdv1alpha1.ConditionProfileLearned {
			continue
		}
		s.Conditions += fmt.Sprintf("%s=%s/%s/%d;", c.Type, c.Status, c.Reason, c.ObservedGeneration)
	}
	return s
}

// Expected predicts the status summary of every live VA with the product's
// plan function (controller.PlanGroupStatuses) from what the model holds.
// The run's configuration has no stabilization window and no scale to
// zero, so the plan does not depend on the allocator's remembered state.
func (m *Model) Expected(now time.Time) map[types.NamespacedName]Summary {
	cfg := m.Config()
	out := make(map[types.NamespacedName]Summary, len(m.VAs))
	for _, g := range m.Groups {
		snap := &modelgroup.Snapshot{Key: g.Key, Config: cfg,
			Load: modelgroup.LoadReading{Load: g.Load, Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound}}
		for _, va := range g.VAs {
			if va.Deleted {
				continue
			}
			obj := va.Obj.DeepCopy()
			obj.Generation = va.Generation
			snap.Members = append(snap.Members, modelgroup.Member{VA: obj,
				Target: modelgroup.Target{Found: true, SpecReplicas: va.Replicas, StatusReplicas: va.Replicas}})
		}
		if len(snap.Members) == 0 {
			continue
		}
		slices.SortFunc(snap.Members, func(a, b modelgroup.Member) int { return cmp.Compare(a.VA.Name, b.VA.Name) })
		statuses, _ := controller.PlanGroupStatuses(snap, allocator.State{}, now, m.cache)
		for i := range snap.Members {
			va := snap.Members[i].VA
			out[types.NamespacedName{Namespace: va.Namespace, Name: va.Name}] = Summarize(&statuses[i])
		}
	}
	return out
}
