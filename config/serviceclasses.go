package config

import (
	"fmt"
	"math"
	"sort"
)

// ServiceClass is one class of service-classes-config.
type ServiceClass struct {
	// Name is what spec.serviceClass refers to; unique.
	Name string
	// Priority orders classes where they compete (lower = more important); >= 0.
	Priority int
	// SLOs maps a model (ModelRef.Namespace "" = any namespace) to its targets.
	SLOs map[ModelRef]SLO
}

// ServiceClasses is the parsed service-classes-config, with an index for
// resolution. Build it with ParseServiceClasses or NewServiceClasses; treat
// it as read-only.
type ServiceClasses struct {
	// Classes maps a class name to its class.
	Classes map[string]ServiceClass
	// owner maps each ModelRef to the class holding it (each is in one class).
	owner map[ModelRef]string
}

// NewServiceClasses validates classes (unique names, priority >= 0, SLOs > 0,
// each ModelRef in one class only) and indexes them. It serves code that
// builds a configuration without a ConfigMap, such as tests and the planner.
func NewServiceClasses(classes ...ServiceClass) (ServiceClasses, error) {
	out := ServiceClasses{Classes: map[string]ServiceClass{}, owner: map[ModelRef]string{}}
	for _, c := range classes {
		if c.Name == "" {
			return ServiceClasses{}, fmt.Errorf("service class without a name")
		}
		if _, dup := out.Classes[c.Name]; dup {
			return ServiceClasses{}, fmt.Errorf("service class %q defined twice", c.Name)
		}
		if c.Priority < 0 {
			return ServiceClasses{}, fmt.Errorf("service class %q: priority must be >= 0, got %d", c.Name, c.Priority)
		}
		for ref, slo := range c.SLOs {
			if err := checkModelID("modelID", ref.ModelID); err != nil {
				return ServiceClasses{}, fmt.Errorf("service class %q: %w", c.Name, err)
			}
			if err := checkNamespace("namespace", ref.Namespace); err != nil {
				return ServiceClasses{}, fmt.Errorf("service class %q: %w", c.Name, err)
			}
			if !(slo.TTFT > 0 && slo.ITL > 0) || math.IsInf(slo.TTFT, 0) || math.IsInf(slo.ITL, 0) {
				return ServiceClasses{}, fmt.Errorf("service class %q, %s: SLO targets must be finite and > 0, got %+v", c.Name, ref, slo)
			}
			if other, dup := out.owner[ref]; dup {
				return ServiceClasses{}, fmt.Errorf("%s is in both service class %q and %q; a model may be in one class only", ref, other, c.Name)
			}
			out.owner[ref] = c.Name
		}
		out.Classes[c.Name] = c
	}
	return out, nil
}

// Names returns the class names, sorted.
func (s ServiceClasses) Names() []string { return sortedKeys(s.Classes) }

// Len is the number of classes.
func (s ServiceClasses) Len() int { return len(s.Classes) }

// ownerOf returns the class holding ref.
func (s ServiceClasses) ownerOf(ref ModelRef) (string, bool) {
	if s.owner != nil {
		name, ok := s.owner[ref]
		return name, ok
	}
	// Built as a literal rather than by a constructor: scan, in name order.
	for _, name := range s.Names() {
		if _, ok := s.Classes[name].SLOs[ref]; ok {
			return name, true
		}
	}
	return "", false
}

// SLOFor resolves a model's SLO; see Config.SLOFor.
func (s ServiceClasses) SLOFor(namespace, modelID, serviceClass string) (SLO, string, error) {
	// Most specific first; "" is no namespace, so it has no specific entry.
	refs := []ModelRef{{ModelID: modelID}}
	if namespace != "" {
		refs = []ModelRef{{Namespace: namespace, ModelID: modelID}, {ModelID: modelID}}
	}
	if serviceClass != "" {
		class, ok := s.Classes[serviceClass]
		if !ok {
			return SLO{}, "", fmt.Errorf("%w: service class %q (spec.serviceClass) is not defined in ConfigMap %s",
				ErrNoSLO, serviceClass, ServiceClassesConfigMapName)
		}
		for _, ref := range refs {
			if slo, ok := class.SLOs[ref]; ok {
				return slo, serviceClass, nil
			}
		}
		return SLO{}, "", fmt.Errorf("%w: service class %q (spec.serviceClass) in ConfigMap %s has no entry for model %q with namespace %q or without namespace",
			ErrNoSLO, serviceClass, ServiceClassesConfigMapName, modelID, namespace)
	}
	for _, ref := range refs {
		if name, ok := s.ownerOf(ref); ok {
			return s.Classes[name].SLOs[ref], name, nil
		}
	}
	return SLO{}, "", fmt.Errorf("%w: no service class in ConfigMap %s has an entry for model %q with namespace %q or without namespace, and spec.serviceClass is not set",
		ErrNoSLO, ServiceClassesConfigMapName, modelID, namespace)
}

// ParseServiceClasses parses the data of service-classes-config: one key per
// class (any key name, e.g. premium.yaml), each value a YAML (or JSON) mapping
//
//	name: premium            # required, unique across keys
//	priority: 1              # integer >= 0, lower = more important; default 0
//	data:
//	  - model: meta/llama-3.1-8b
//	    namespace: team-a    # optional; absent = any namespace
//	    slo-ttft: 500        # time-to-first-token target, ms, > 0
//	    slo-tpot: 24         # inter-token latency (ITL) target, ms, > 0
//
// Unknown fields are errors. A (namespace, model) pair may appear in one
// class only. The error is an *InvalidError naming every bad key.
func ParseServiceClasses(data map[string]string) (ServiceClasses, error) {
	probs := problems{configMap: ServiceClassesConfigMapName}
	out := ServiceClasses{Classes: map[string]ServiceClass{}, owner: map[ModelRef]string{}}
	keyOf := map[string]string{} // class name → ConfigMap key defining it
	for _, key := range sortedKeys(data) {
		class, err := parseServiceClass(data[key])
		if err != nil {
			probs.add(key, err)
			continue
		}
		if other, dup := keyOf[class.Name]; dup {
			probs.add(key, fmt.Errorf("name: class %q is already defined by key %q; class names must be unique", class.Name, other))
			continue
		}
		// Report every model already owned by another class, in a stable order.
		var conflicts []string
		for _, ref := range sortedRefs(class.SLOs) {
			if other, dup := out.owner[ref]; dup {
				conflicts = append(conflicts, fmt.Sprintf("%s is in both class %q (key %q) and class %q (key %q); a model may be in one class only",
					ref, other, keyOf[other], class.Name, key))
			}
		}
		if len(conflicts) > 0 {
			for _, c := range conflicts {
				probs.add(key, fmt.Errorf("data: %s", c))
			}
			continue
		}
		keyOf[class.Name] = key
		for ref := range class.SLOs {
			out.owner[ref] = class.Name
		}
		out.Classes[class.Name] = class
	}
	if err := probs.err(); err != nil {
		return ServiceClasses{}, err
	}
	return out, nil
}

func parseServiceClass(value string) (ServiceClass, error) {
	o, err := decodeObject(value, "name", "priority", "data")
	if err != nil {
		return ServiceClass{}, err
	}
	name, err := o.requiredStr("name")
	if err != nil {
		return ServiceClass{}, err
	}
	if len(name) > 253 {
		return ServiceClass{}, fmt.Errorf("name: longer than 253 characters")
	}
	priority, _, err := o.integer("priority")
	if err != nil {
		return ServiceClass{}, err
	}
	if priority < rangeServiceClassPrio.min || priority > rangeServiceClassPrio.max {
		return ServiceClass{}, fmt.Errorf("priority: must be from %d to %d (lower = more important), got %d",
			rangeServiceClassPrio.min, rangeServiceClassPrio.max, priority)
	}
	items, err := o.list("data")
	if err != nil {
		return ServiceClass{}, err
	}
	class := ServiceClass{Name: name, Priority: int(priority), SLOs: make(map[ModelRef]SLO, len(items))}
	seen := map[ModelRef]int{}
	for i, item := range items {
		ref, slo, err := parseServiceClassEntry(item, fmt.Sprintf("data[%d]", i))
		if err != nil {
			return ServiceClass{}, err
		}
		if j, dup := seen[ref]; dup {
			return ServiceClass{}, fmt.Errorf("data[%d]: %s is already listed at data[%d]", i, ref, j)
		}
		seen[ref] = i
		class.SLOs[ref] = slo
	}
	return class, nil
}

func parseServiceClassEntry(item any, path string) (ModelRef, SLO, error) {
	o, err := asObject(item, path, "model", "namespace", "slo-ttft", "slo-tpot")
	if err != nil {
		return ModelRef{}, SLO{}, err
	}
	model, err := o.str("model")
	if err != nil {
		return ModelRef{}, SLO{}, err
	}
	if err := checkModelID(o.name("model"), model); err != nil {
		return ModelRef{}, SLO{}, err
	}
	ns, err := o.str("namespace")
	if err != nil {
		return ModelRef{}, SLO{}, err
	}
	if err := checkNamespace(o.name("namespace"), ns); err != nil {
		return ModelRef{}, SLO{}, err
	}
	var slo SLO
	for _, f := range []struct {
		field, meaning string
		dst            *float64
	}{
		{"slo-ttft", "time-to-first-token target", &slo.TTFT},
		{"slo-tpot", "inter-token latency target", &slo.ITL},
	} {
		v, present, err := o.number(f.field)
		switch {
		case err != nil:
			return ModelRef{}, SLO{}, err
		case !present:
			return ModelRef{}, SLO{}, fmt.Errorf("%s: required (%s in milliseconds)", o.name(f.field), f.meaning)
		case v <= 0:
			return ModelRef{}, SLO{}, fmt.Errorf("%s: must be > 0 (%s in milliseconds), got %v", o.name(f.field), f.meaning, v)
		case v > rangeServiceClassSLO.max:
			return ModelRef{}, SLO{}, fmt.Errorf("%s: must be at most %g (%s in milliseconds, one hour), got %v",
				o.name(f.field), rangeServiceClassSLO.max, f.meaning, v)
		}
		*f.dst = v
	}
	return ModelRef{Namespace: ns, ModelID: model}, slo, nil
}

// sortedRefs returns the keys of m ordered by namespace, then model.
func sortedRefs[V any](m map[ModelRef]V) []ModelRef {
	out := make([]ModelRef, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sortModelRefs(out)
	return out
}

func sortModelRefs(refs []ModelRef) {
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Namespace != refs[j].Namespace {
			return refs[i].Namespace < refs[j].Namespace
		}
		return refs[i].ModelID < refs[j].ModelID
	})
}
