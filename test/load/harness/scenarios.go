package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// costFactor is the change of a unit cost in the cost scenarios.
const costFactor = 1.1

// EditedMaxReplicas is spec.maxReplicas after the va-edit scenario.
const EditedMaxReplicas = 19

// scenario plays one named scenario.
func (r *runner) scenario(ctx context.Context, name string) (*Phase, error) {
	m := r.model
	s := phaseSpec{name: name, desc: ScenarioDescriptions[name], idle: true}
	switch name {
	case ScenarioSteady:
		// Nothing changes: count one interval's work.
		s.affected = m.Groups
		s.window = r.opts.SteadyInterval
		s.idle = false
		s.demanded = r.demandAll
		s.trigger = func(context.Context) error { return nil }

	case ScenarioInterval:
		next := 2 * m.Config().Operator.OptInterval
		s.prepare = func() error {
			return m.SetConfigMapKey(config.OperatorConfigMapName, config.KeyGlobalOptInterval, next.String())
		}
		s.trigger = func(ctx context.Context) error {
			return r.patchConfigMap(ctx, config.OperatorConfigMapName, []string{config.KeyGlobalOptInterval})
		}
		s.applied = r.configApplied
		s.demanded = r.demandConfig

	case ScenarioCostQuarter, ScenarioCostAll:
		accs := []string{QuarterAccelerator}
		if name == ScenarioCostAll {
			accs = Accelerators
		}
		for _, g := range m.Groups {
			for _, acc := range accs {
				if groupHas(g, acc) {
					s.affected = append(s.affected, g)
					break
				}
			}
		}
		s.prepare = func() error {
			for _, acc := range accs {
				// Rounded: the operator rejects costs with more than 9 decimals
				// (110 × 1.1 is 121.00000000000001 in floating point).
				cost := math.Round(m.UnitCost(acc)*costFactor*1e6) / 1e6
				value := framework.UnitCost(accelerators[acc].device, cost)
				if err := m.SetConfigMapKey(config.UnitCostsConfigMapName, acc, value); err != nil {
					return err
				}
			}
			return nil
		}
		s.trigger = func(ctx context.Context) error {
			// One update of the ConfigMap, whatever the number of keys.
			return r.patchConfigMap(ctx, config.UnitCostsConfigMapName, accs)
		}
		s.applied = r.configApplied
		s.demanded = func() float64 { return r.demand(float64(LiveMembers(s.affected)), r.live()) }
		s.foreign = name == ScenarioCostAll

	case ScenarioEdit:
		g := m.Groups[0]
		va := g.VAs[min(1, len(g.VAs)-1)]
		s.affected = []*Group{g}
		s.prepare = func() error {
			va.Generation++
			va.Obj.Spec.MaxReplicas = new(int32(EditedMaxReplicas))
			return nil
		}
		s.trigger = func(ctx context.Context) error {
			obj := &llmdv1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Namespace: va.Namespace, Name: va.Name}}
			patch := fmt.Sprintf(`{"spec":{"maxReplicas":%d}}`, EditedMaxReplicas)
			if err := r.setup.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
				return err
			}
			if obj.Generation != va.Generation {
				return fmt.Errorf("the edit of %s gave generation %d, the harness expected %d", va.Key(), obj.Generation, va.Generation)
			}
			return nil
		}
		s.demanded = func() float64 { return r.demand(float64(LiveMembers(s.affected)), 1) }

	case ScenarioLoad:
		for _, g := range m.Groups {
			if g.Index%10 == 0 {
				s.affected = append(s.affected, g)
			}
		}
		s.prepare = func() error {
			for _, g := range s.affected {
				g.Load.ArrivalRate *= 1.5
			}
			return nil
		}
		s.trigger = func(context.Context) error {
			for _, g := range s.affected {
				r.load.Set(g.Key, g.Load)
			}
			return nil
		}
		s.applied = func() bool { return len(r.load.Changes()) == 0 }
		s.demanded = func() float64 { return r.demand(float64(LiveMembers(s.affected)), float64(LiveMembers(s.affected))) }

	case ScenarioDelete:
		// One VA in every 25th group: 1% of the VAs with four per group,
		// and one delete event per group.
		var victims []*VA
		for _, g := range m.Groups {
			if g.Index%25 != 12 && (len(m.Groups) >= 25 || g.Index != len(m.Groups)/2) {
				continue
			}
			var live []*VA
			for _, va := range g.VAs {
				if !va.Deleted {
					live = append(live, va)
				}
			}
			if len(live) > 1 {
				victims = append(victims, live[(g.Index/25)%len(live)])
				s.affected = append(s.affected, g)
			}
		}
		s.gone = vaKeys(victims)
		s.prepare = func() error {
			for _, va := range victims {
				va.Deleted = true
			}
			return nil
		}
		s.trigger = func(ctx context.Context) error {
			for _, va := range victims {
				obj := &llmdv1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Namespace: va.Namespace, Name: va.Name}}
				if err := r.setup.Delete(ctx, obj); err != nil {
					return err
				}
			}
			return nil
		}
		// Evaluated after prepare: the remaining VAs.
		s.demanded = func() float64 { return r.demand(float64(LiveMembers(s.affected)), float64(len(victims))) }

	default:
		return nil, fmt.Errorf("unknown scenario %q (known: %v)", name, AllScenarios)
	}
	return r.phase(ctx, s)
}

// patchConfigMap sends the model's values of keys of a ConfigMap in one merge patch.
func (r *runner) patchConfigMap(ctx context.Context, name string, keys []string) error {
	data := map[string]string{}
	for _, k := range keys {
		data[k] = r.model.ConfigMaps[name][k]
	}
	patch, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: framework.ConfigNamespace, Name: name}}
	return r.setup.Patch(ctx, cm, client.RawPatch(types.MergePatchType, patch))
}

func groupHas(g *Group, acc string) bool {
	for _, va := range g.VAs {
		if !va.Deleted && va.Obj.Spec.Accelerator == acc {
			return true
		}
	}
	return false
}
