package config

import (
	"fmt"
	"time"
)

// ScaleToZeroDefaultsKey is the key of model-scale-to-zero-config that holds
// the defaults for models without an entry of their own.
const ScaleToZeroDefaultsKey = "__defaults__"

// ScaleToZeroOverride is one entry of model-scale-to-zero-config. A field
// that is not set is inherited from the next, less specific level.
type ScaleToZeroOverride struct {
	// EnabledSet says whether the entry sets Enabled.
	EnabledSet bool
	// Enabled (enableScaleToZero) allows scaling to zero replicas.
	Enabled bool
	// Retention (retentionPeriod) is how long without requests before scaling
	// to zero; 0 when the entry does not set it, else > 0.
	Retention time.Duration
}

// apply overlays the fields o sets onto p.
func (o ScaleToZeroOverride) apply(p ScaleToZeroPolicy) ScaleToZeroPolicy {
	if o.EnabledSet {
		p.Enabled = o.Enabled
	}
	if o.Retention > 0 {
		p.Retention = o.Retention
	}
	return p
}

// ScaleToZeroConfig is the parsed model-scale-to-zero-config.
type ScaleToZeroConfig struct {
	// Defaults is the __defaults__ entry (zero when absent).
	Defaults ScaleToZeroOverride
	// Models holds the per-model entries; ModelRef.Namespace "" = any namespace.
	Models map[ModelRef]ScaleToZeroOverride
}

// Resolve returns the policy of a model in a namespace. Each field comes from
// the first level that sets it: the entry for (namespace, model), the entry
// for the model without namespace, Defaults, then fallback (the operator's
// SCALE_TO_ZERO_DEFAULT_* settings).
func (s ScaleToZeroConfig) Resolve(namespace, modelID string, fallback ScaleToZeroPolicy) ScaleToZeroPolicy {
	p := s.Defaults.apply(fallback)
	if o, ok := s.Models[ModelRef{ModelID: modelID}]; ok {
		p = o.apply(p)
	}
	if namespace != "" {
		if o, ok := s.Models[ModelRef{Namespace: namespace, ModelID: modelID}]; ok {
			p = o.apply(p)
		}
	}
	return p
}

// ParseScaleToZero parses the data of model-scale-to-zero-config: the key
// __defaults__ with YAML {enableScaleToZero: bool, retentionPeriod: duration},
// and per-model entries under any other key with YAML
// {modelID, namespace?, enableScaleToZero?, retentionPeriod?}. retentionPeriod
// is a Go duration > 0. Unknown fields and two entries for the same
// (namespace, model) are errors. The error is an *InvalidError naming every
// bad key.
func ParseScaleToZero(data map[string]string) (ScaleToZeroConfig, error) {
	probs := problems{configMap: ScaleToZeroConfigMapName}
	out := ScaleToZeroConfig{Models: map[ModelRef]ScaleToZeroOverride{}}
	keyOf := map[ModelRef]string{}
	for _, key := range sortedKeys(data) {
		if key == ScaleToZeroDefaultsKey {
			o, err := decodeObject(data[key], "enableScaleToZero", "retentionPeriod")
			if err == nil {
				out.Defaults, err = parseScaleToZeroOverride(o)
			}
			probs.add(key, err)
			continue
		}
		o, err := decodeObject(data[key], "modelID", "namespace", "enableScaleToZero", "retentionPeriod")
		if err != nil {
			probs.add(key, err)
			continue
		}
		ref, err := parseScaleToZeroRef(o)
		if err != nil {
			probs.add(key, err)
			continue
		}
		override, err := parseScaleToZeroOverride(o)
		if err != nil {
			probs.add(key, err)
			continue
		}
		if other, dup := keyOf[ref]; dup {
			probs.add(key, fmt.Errorf("%s already has an entry under key %q; give each model one entry", ref, other))
			continue
		}
		keyOf[ref] = key
		out.Models[ref] = override
	}
	if err := probs.err(); err != nil {
		return ScaleToZeroConfig{}, err
	}
	return out, nil
}

func parseScaleToZeroRef(o object) (ModelRef, error) {
	model, err := o.str("modelID")
	if err != nil {
		return ModelRef{}, err
	}
	if err := checkModelID("modelID", model); err != nil {
		return ModelRef{}, err
	}
	ns, err := o.str("namespace")
	if err != nil {
		return ModelRef{}, err
	}
	if err := checkNamespace("namespace", ns); err != nil {
		return ModelRef{}, err
	}
	return ModelRef{Namespace: ns, ModelID: model}, nil
}

func parseScaleToZeroOverride(o object) (ScaleToZeroOverride, error) {
	var out ScaleToZeroOverride
	enabled, present, err := o.boolean("enableScaleToZero")
	if err != nil {
		return out, err
	}
	out.EnabledSet, out.Enabled = present, enabled
	raw, err := o.str("retentionPeriod")
	if err != nil {
		return out, err
	}
	if raw != "" {
		d, err := parseBoundedDuration(raw, rangeRetention)
		if err != nil {
			return out, fmt.Errorf("retentionPeriod: %w", err)
		}
		out.Retention = d
	}
	return out, nil
}
