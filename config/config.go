// Package config parses, validates and diffs the operator's ConfigMaps.
//
// Four ConfigMaps in the controller namespace configure the operator (see
// docs/configuration.md for their formats):
//
//   - variantautoscaling-config: operator settings (intervals, Prometheus, defaults),
//     overridable by environment variables of the manager;
//   - accelerator-unit-costs: the cost of one accelerator per hour, by accelerator type;
//   - service-classes-config: latency SLOs (TTFT, ITL) by service class and model;
//   - model-scale-to-zero-config: scale-to-zero policy by model.
//
// The package is pure: it never talks to the API server. The controller feeds
// ConfigMap contents into a Store, which keeps the last good version of each
// ConfigMap in force and reports, as a Change, which model groups a new
// version affects.
package config

import (
	"fmt"
	"sort"
	"strings"
	"time"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// DefaultNamespace is the namespace the ConfigMaps live in unless the manager
// is told otherwise.
const DefaultNamespace = "workload-variant-autoscaler-system"

// Names of the ConfigMaps. They match the predecessor's so existing users can
// move over unchanged.
const (
	OperatorConfigMapName       = "variantautoscaling-config"
	UnitCostsConfigMapName      = "accelerator-unit-costs"
	ServiceClassesConfigMapName = "service-classes-config"
	ScaleToZeroConfigMapName    = "model-scale-to-zero-config"
)

// Names returns the names of all ConfigMaps this package owns.
func Names() []string {
	return []string{OperatorConfigMapName, UnitCostsConfigMapName, ServiceClassesConfigMapName, ScaleToZeroConfigMapName}
}

// IsConfigMapName reports whether name is one of Names; the
// controller uses it as its watch predicate.
func IsConfigMapName(name string) bool {
	return contains(Names(), name)
}

// ModelRef names a model, optionally in one namespace.
type ModelRef struct {
	// Namespace is "" for "any namespace".
	Namespace string
	ModelID   string
}

func (r ModelRef) String() string {
	if r.Namespace == "" {
		return fmt.Sprintf("model %q (any namespace)", r.ModelID)
	}
	return fmt.Sprintf("model %q in namespace %q", r.ModelID, r.Namespace)
}

// Matches reports whether the ref covers the model in the namespace.
func (r ModelRef) Matches(namespace, modelID string) bool {
	return r.ModelID == modelID && (r.Namespace == "" || r.Namespace == namespace)
}

// UnitCost is one entry of accelerator-unit-costs.
type UnitCost struct {
	// Device is the device name, e.g. NVIDIA-H100-80GB-HBM3; informational.
	Device string
	// Cost is the cost of one accelerator per hour; finite and >= 0.
	Cost float64
}

// SLO is a model's latency targets, in milliseconds; both are > 0.
type SLO struct {
	// TTFT is the time-to-first-token target.
	TTFT float64
	// ITL is the inter-token latency target (slo-tpot in the ConfigMap).
	ITL float64
}

// ScaleToZeroPolicy is the resolved scale-to-zero policy of a model.
type ScaleToZeroPolicy struct {
	// Enabled allows scaling the model's variants to zero replicas.
	Enabled bool
	// Retention is how long the model must have received no request before
	// it is scaled to zero; > 0.
	Retention time.Duration
}

// Config is the whole configuration in force. It is immutable once built:
// readers may share it freely and must not modify it (including its maps).
type Config struct {
	Operator OperatorConfig
	// UnitCosts maps an accelerator type (spec.accelerator) to its cost.
	UnitCosts      map[string]UnitCost
	ServiceClasses ServiceClasses
	ScaleToZero    ScaleToZeroConfig
}

// Defaults returns the configuration in force when no ConfigMap exists and no
// environment variable is set: operator defaults, no costs, no service
// classes, no scale-to-zero entries. It is valid.
func Defaults() *Config {
	return &Config{
		Operator:       DefaultOperatorConfig(),
		UnitCosts:      map[string]UnitCost{},
		ServiceClasses: ServiceClasses{Classes: map[string]ServiceClass{}},
		ScaleToZero:    ScaleToZeroConfig{Models: map[ModelRef]ScaleToZeroOverride{}},
	}
}

// With returns a copy of c in which the named ConfigMap is replaced by the
// one holding data (nil data: the ConfigMap's defaults). env overrides keys of
// the operator ConfigMap (see ParseOperatorConfig). c is not modified; on
// error c is returned unchanged with the error.
func (c *Config) With(name string, data, env map[string]string) (*Config, error) {
	out := *c
	switch name {
	case OperatorConfigMapName:
		op, err := ParseOperatorConfig(data, env)
		if err != nil {
			return c, err
		}
		out.Operator = op
	case UnitCostsConfigMapName:
		costs, err := ParseUnitCosts(data)
		if err != nil {
			return c, err
		}
		out.UnitCosts = costs
	case ServiceClassesConfigMapName:
		classes, err := ParseServiceClasses(data)
		if err != nil {
			return c, err
		}
		out.ServiceClasses = classes
	case ScaleToZeroConfigMapName:
		s2z, err := ParseScaleToZero(data)
		if err != nil {
			return c, err
		}
		out.ScaleToZero = s2z
	default:
		return c, fmt.Errorf("ConfigMap %q: %w (known: %s)", name, ErrUnknownConfigMap, strings.Join(Names(), ", "))
	}
	return &out, nil
}

// Load builds a Config from the data of the given ConfigMaps, keyed by
// ConfigMap name; missing ConfigMaps take their defaults. It serves tools
// that read ConfigMaps from files (the planner CLI) and tests. All problems
// are reported, one *InvalidError per ConfigMap.
func Load(configMaps map[string]map[string]string, env map[string]string) (*Config, error) {
	cfg := Defaults()
	var errs multiError
	if _, ok := configMaps[OperatorConfigMapName]; !ok {
		// The environment applies even without the ConfigMap.
		next, err := cfg.With(OperatorConfigMapName, nil, env)
		if err != nil {
			errs = append(errs, err)
		}
		cfg = next
	}
	names := make([]string, 0, len(configMaps))
	for name := range configMaps {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		next, err := cfg.With(name, configMaps[name], env)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cfg = next
	}
	switch len(errs) {
	case 0:
		return cfg, nil
	case 1:
		return nil, errs[0]
	default:
		return nil, errs
	}
}

// multiError joins the errors of several ConfigMaps on one line.
type multiError []error

func (m multiError) Error() string {
	parts := make([]string, len(m))
	for i, err := range m {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

func (m multiError) Unwrap() []error { return m }

// VariantCost is the cost of one replica of a variant per hour: spec.variantCost
// when set, else the accelerator's unit cost times acceleratorCount (a count
// below 1 counts as 1). This is the one definition of cost used everywhere.
// The error wraps ErrNoCost when neither is available.
func (c *Config) VariantCost(spec *llmdv1alpha1.VariantAutoscalingSpec) (float64, error) {
	if spec == nil {
		return 0, fmt.Errorf("%w: no spec", ErrNoCost)
	}
	if spec.VariantCost != "" {
		v, err := llmdv1alpha1.ParseDecimal("spec.variantCost", spec.VariantCost)
		if err != nil {
			return 0, err
		}
		return v, nil
	}
	uc, ok := c.UnitCosts[spec.Accelerator]
	if !ok {
		return 0, fmt.Errorf("%w: spec.variantCost is not set and accelerator %q has no entry in ConfigMap %s",
			ErrNoCost, spec.Accelerator, UnitCostsConfigMapName)
	}
	count := spec.AcceleratorCount
	if count < 1 {
		count = 1
	}
	return uc.Cost * float64(count), nil
}

// SLOFor returns the SLO of a model and the name of the service class it
// came from.
//
// With serviceClass set (spec.serviceClass), that class's entry for the model
// in the namespace is used, else its entry for the model without namespace.
// Without it, all classes are searched for an entry for the model in the
// namespace, then for one without namespace (each such entry is in at most
// one class). The error wraps ErrNoSLO and says what was looked for.
func (c *Config) SLOFor(namespace, modelID, serviceClass string) (SLO, string, error) {
	return c.ServiceClasses.SLOFor(namespace, modelID, serviceClass)
}

// ScaleToZeroFor returns the scale-to-zero policy of a model in a namespace.
// Each field is taken from the first of these that sets it: the entry for
// the model in the namespace, the entry for the model without namespace,
// __defaults__, and finally SCALE_TO_ZERO_DEFAULT_* of the operator ConfigMap.
func (c *Config) ScaleToZeroFor(namespace, modelID string) ScaleToZeroPolicy {
	return c.ScaleToZero.Resolve(namespace, modelID, c.Operator.ScaleToZeroDefault)
}
