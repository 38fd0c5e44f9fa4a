package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Keys of the limited-capacity settings in variantautoscaling-config (see
// docs/capacity.md).
const (
	KeyCapacityMode             = "CAPACITY_MODE"
	KeyCapacityAcceleratorLabel = "CAPACITY_ACCELERATOR_LABEL"
	KeyCapacityResource         = "CAPACITY_RESOURCE"
	KeyCapacityQuota            = "CAPACITY_QUOTA"
)

// CapacityMode says whether accelerators are treated as unlimited (each
// group planned on its own, today's behaviour) or arbitrated between groups.
type CapacityMode string

// Capacity modes.
const (
	CapacityUnlimited CapacityMode = "unlimited"
	CapacityLimited   CapacityMode = "limited"
)

// Defaults of the capacity settings.
const (
	// DefaultAcceleratorLabel is the Node label naming the accelerator type
	// (set by NVIDIA GPU feature discovery).
	DefaultAcceleratorLabel = "nvidia.com/gpu.product"
	// DefaultAcceleratorResource is the extended resource counted.
	DefaultAcceleratorResource = "nvidia.com/gpu"
	// maxQuota bounds one type's quota (the allocator's MaxLimit).
	maxQuota = 1 << 20
)

// CapacityConfig holds the limited-capacity settings. It is comparable.
type CapacityConfig struct {
	// Mode (CAPACITY_MODE): unlimited (default) or limited.
	Mode CapacityMode
	// AcceleratorLabel (CAPACITY_ACCELERATOR_LABEL) is the Node label whose
	// value names a Node's accelerator type: spec.accelerator itself, or the
	// device of an accelerator-unit-costs entry (which names the type).
	AcceleratorLabel string
	// Resource (CAPACITY_RESOURCE) is the extended resource that counts a
	// Node's accelerators.
	Resource string
	// Quota (CAPACITY_QUOTA) is a fixed inventory, "H100=16,A100=8", in
	// canonical form (sorted by type); "" takes the inventory from the Nodes.
	Quota string
}

// DefaultCapacityConfig returns the settings in force when none is given.
func DefaultCapacityConfig() CapacityConfig {
	return CapacityConfig{Mode: CapacityUnlimited, AcceleratorLabel: DefaultAcceleratorLabel, Resource: DefaultAcceleratorResource}
}

// Limited reports whether accelerators are arbitrated.
func (c CapacityConfig) Limited() bool { return c.Mode == CapacityLimited }

// QuotaInventory returns the fixed quota per type; nil when the inventory
// comes from the Nodes.
func (c CapacityConfig) QuotaInventory() map[string]int {
	if c.Quota == "" {
		return nil
	}
	q, err := parseQuota(c.Quota)
	if err != nil {
		return nil // never: Quota is only set from a parsed value
	}
	return q
}

// The capacity keys live here, with their type; they join the operator's
// keys at package initialisation.
func init() { operatorKeys = append(operatorKeys, capacityKeys...) }

var capacityKeys = []operatorKey{
	{KeyCapacityMode, func(o *OperatorConfig, v string) error {
		switch m := CapacityMode(strings.ToLower(v)); m {
		case CapacityUnlimited, CapacityLimited:
			o.Capacity.Mode = m
			return nil
		}
		return fmt.Errorf("%q is not a capacity mode; use %s or %s", v, CapacityUnlimited, CapacityLimited)
	}},
	{KeyCapacityAcceleratorLabel, func(o *OperatorConfig, v string) error {
		if errs := validation.IsQualifiedName(v); len(errs) > 0 {
			return fmt.Errorf("%q is not a label key: %s", v, strings.Join(errs, "; "))
		}
		o.Capacity.AcceleratorLabel = v
		return nil
	}},
	{KeyCapacityResource, func(o *OperatorConfig, v string) error {
		if errs := validation.IsQualifiedName(v); len(errs) > 0 || !strings.Contains(v, "/") {
			return fmt.Errorf("%q is not an extended resource name such as nvidia.com/gpu", v)
		}
		o.Capacity.Resource = v
		return nil
	}},
	{KeyCapacityQuota, func(o *OperatorConfig, v string) error {
		q, err := parseQuota(v)
		if err != nil {
			return err
		}
		o.Capacity.Quota = formatQuota(q)
		return nil
	}},
}

// parseQuota parses "H100=16, A100=8": accelerator types as in
// spec.accelerator, each once, with a count in [0, 2^20].
func parseQuota(v string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, count, ok := strings.Cut(part, "=")
		name, count = strings.TrimSpace(name), strings.TrimSpace(count)
		if !ok || name == "" {
			return nil, fmt.Errorf("%q is not type=count; write e.g. H100=16,A100=8", part)
		}
		if len(name) > 63 {
			return nil, fmt.Errorf("accelerator type %q is longer than 63 characters", name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("accelerator type %q is given twice", name)
		}
		n, err := strconv.Atoi(count)
		if err != nil || n < 0 || n > maxQuota {
			return nil, fmt.Errorf("%s: %q is not a whole number of accelerators in [0, %d]", name, count, maxQuota)
		}
		out[name] = n
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%q names no accelerator type; write e.g. H100=16,A100=8", v)
	}
	return out, nil
}

func formatQuota(q map[string]int) string {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%d", n, q[n])
	}
	return strings.Join(parts, ",")
}
