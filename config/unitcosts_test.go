package config

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

func TestParseUnitCosts(t *testing.T) {
	tests := map[string]struct {
		data    map[string]string
		want    map[string]UnitCost
		wantErr []string
	}{
		"empty": {
			want: map[string]UnitCost{},
		},
		"predecessor example": {
			data: map[string]string{
				"A100":   `{"device": "NVIDIA-A100-PCIE-80GB", "cost": "40.00"}`,
				"MI300X": `{"device": "AMD-MI300X-192G", "cost": "65.00"}`,
				"G2":     `{"device": "Intel-Gaudi-2-96GB", "cost": "23.00"}`,
				"H100":   "{\"device\": \"NVIDIA-H100-80GB-HBM3\", \"cost\": \"100.0\"}\n",
			},
			want: map[string]UnitCost{
				"A100":   {Device: "NVIDIA-A100-PCIE-80GB", Cost: 40},
				"MI300X": {Device: "AMD-MI300X-192G", Cost: 65},
				"G2":     {Device: "Intel-Gaudi-2-96GB", Cost: 23},
				"H100":   {Device: "NVIDIA-H100-80GB-HBM3", Cost: 100},
			},
		},
		"device is optional, cost may be zero": {
			data: map[string]string{"L4": `{"cost": "0"}`},
			want: map[string]UnitCost{"L4": {Cost: 0}},
		},
		"YAML and a bare number are accepted": {
			data: map[string]string{"L40S": "device: NVIDIA-L40S\ncost: 12.5\n"},
			want: map[string]UnitCost{"L40S": {Device: "NVIDIA-L40S", Cost: 12.5}},
		},

		// Invalid.
		"bad JSON": {
			data:    map[string]string{"H100": `{"device": "x", "cost": "1"`},
			wantErr: []string{"accelerator-unit-costs", `key "H100"`, "not valid YAML or JSON"},
		},
		"empty value": {
			data:    map[string]string{"H100": " "},
			wantErr: []string{`key "H100"`, "empty"},
		},
		"missing cost": {
			data:    map[string]string{"H100": `{"device": "x"}`},
			wantErr: []string{`key "H100"`, "cost: required"},
		},
		"null cost": {
			data:    map[string]string{"H100": `{"cost": null}`},
			wantErr: []string{`key "H100"`, "cost: required"},
		},
		"negative cost": {
			data:    map[string]string{"H100": `{"cost": "-1"}`},
			wantErr: []string{`key "H100"`, "cost", "negative"},
		},
		"negative number cost": {
			data:    map[string]string{"H100": `{"cost": -1}`},
			wantErr: []string{`key "H100"`, "cost", "negative"},
		},
		"cost with unit": {
			data:    map[string]string{"H100": `{"cost": "$100"}`},
			wantErr: []string{`key "H100"`, `cost: "$100" is not a valid decimal`},
		},
		"cost with exponent": {
			data:    map[string]string{"H100": `{"cost": "1e3"}`},
			wantErr: []string{`key "H100"`, "cost"},
		},
		"NaN cost": {
			data:    map[string]string{"H100": `{"cost": "NaN"}`},
			wantErr: []string{`key "H100"`, "cost"},
		},
		"boolean cost": {
			data:    map[string]string{"H100": `{"cost": true}`},
			wantErr: []string{`key "H100"`, "cost: expected a decimal string"},
		},
		"device not a string": {
			data:    map[string]string{"H100": `{"device": 7, "cost": "1"}`},
			wantErr: []string{`key "H100"`, "device: expected a string"},
		},
		"unknown field": {
			data:    map[string]string{"H100": `{"device": "x", "cost": "1", "price": "2"}`},
			wantErr: []string{`key "H100"`, `unknown field price`, "known fields: device, cost"},
		},
		"field in wrong case": {
			data:    map[string]string{"H100": `{"Cost": "1"}`},
			wantErr: []string{`key "H100"`, `unknown field Cost (did you mean "cost"?)`},
		},
		"duplicate field": {
			data:    map[string]string{"H100": `{"cost": "1", "cost": "2"}`},
			wantErr: []string{`key "H100"`, `already set`},
		},
		"not an object": {
			data:    map[string]string{"H100": `"100"`},
			wantErr: []string{`key "H100"`, "must be a mapping"},
		},
		"every bad key is named": {
			data:    map[string]string{"A": `{"cost": "x"}`, "B": `{"cost": "1"}`, "C": `[]`},
			wantErr: []string{`key "A"`, `key "C"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseUnitCosts(tc.data)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseUnitCosts() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnitCostErrorUnwrapsToDecimalError(t *testing.T) {
	_, err := ParseUnitCosts(map[string]string{"H100": `{"cost": "abc"}`})
	var de *llmdv1alpha1.DecimalError
	if !errors.As(err, &de) || de.Field != "cost" {
		t.Fatalf("errors.As(%v, *DecimalError) = %v, want field cost", err, de)
	}
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "H100" {
		t.Fatalf("errors.As(%v, *KeyError) = %v, want key H100", err, ke)
	}
}
