package config

import (
	"fmt"
	"strconv"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// ParseUnitCosts parses the data of accelerator-unit-costs: one key per
// accelerator type (matched exactly against spec.accelerator), each value a
// JSON (or YAML) object {"device": "NVIDIA-H100-80GB-HBM3", "cost": "100.0"}.
// cost is the cost of one accelerator per hour, a decimal string >= 0 as the
// API accepts it (a plain number is accepted too); device is optional and
// informational. The error is an *InvalidError naming every bad key.
func ParseUnitCosts(data map[string]string) (map[string]UnitCost, error) {
	out := make(map[string]UnitCost, len(data))
	probs := problems{configMap: UnitCostsConfigMapName}
	for _, key := range sortedKeys(data) {
		uc, err := parseUnitCost(data[key])
		if err != nil {
			probs.add(key, err)
			continue
		}
		out[key] = uc
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

func parseUnitCost(value string) (UnitCost, error) {
	o, err := decodeObject(value, "device", "cost")
	if err != nil {
		return UnitCost{}, err
	}
	device, err := o.str("device")
	if err != nil {
		return UnitCost{}, err
	}
	var text string
	switch raw := o.m["cost"].(type) {
	case nil:
		return UnitCost{}, fmt.Errorf("cost: required, e.g. \"cost\": \"100.0\"")
	case string:
		text = raw
	case float64:
		// A number is accepted for convenience; it goes through the same
		// checks as a string (no sign, no exponent).
		text = strconv.FormatFloat(raw, 'f', -1, 64)
	default:
		return UnitCost{}, fmt.Errorf("cost: expected a decimal string such as \"100.0\", got %s", describe(raw))
	}
	cost, err := llmdv1alpha1.ParseDecimal("cost", text)
	if err != nil {
		return UnitCost{}, err // names the field: cost: "x" is not a valid decimal: ...
	}
	if err := checkUnitCost(text, cost); err != nil {
		return UnitCost{}, err
	}
	return UnitCost{Device: device, Cost: cost}, nil
}
