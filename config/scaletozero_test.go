package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseScaleToZero(t *testing.T) {
	tests := map[string]struct {
		data    map[string]string
		want    ScaleToZeroConfig
		wantErr []string
	}{
		"empty": {
			want: ScaleToZeroConfig{Models: map[ModelRef]ScaleToZeroOverride{}},
		},
		"predecessor example": {
			data: map[string]string{
				"__defaults__": "enableScaleToZero: true\nretentionPeriod: \"15m\"\n",
				"llama-8b":     "modelID: \"meta/llama-3.1-8b\"\nenableScaleToZero: true\nretentionPeriod: \"5m\"\n",
				"llama-70b":    "modelID: \"meta/llama-3.1-70b\"\nenableScaleToZero: false\n",
				"granite-prod": "modelID: ibm/granite-13b\nnamespace: prod\nretentionPeriod: 1h\n",
			},
			want: ScaleToZeroConfig{
				Defaults: ScaleToZeroOverride{EnabledSet: true, Enabled: true, Retention: 15 * time.Minute},
				Models: map[ModelRef]ScaleToZeroOverride{
					{ModelID: "meta/llama-3.1-8b"}:                  {EnabledSet: true, Enabled: true, Retention: 5 * time.Minute},
					{ModelID: "meta/llama-3.1-70b"}:                 {EnabledSet: true, Enabled: false},
					{Namespace: "prod", ModelID: "ibm/granite-13b"}: {Retention: time.Hour},
				},
			},
		},
		"same model in a namespace and without": {
			data: map[string]string{
				"a": `{"modelID": "m", "enableScaleToZero": true}`,
				"b": `{"modelID": "m", "namespace": "ns", "enableScaleToZero": false}`,
			},
			want: ScaleToZeroConfig{Models: map[ModelRef]ScaleToZeroOverride{
				{ModelID: "m"}:                  {EnabledSet: true, Enabled: true},
				{Namespace: "ns", ModelID: "m"}: {EnabledSet: true, Enabled: false},
			}},
		},
		"defaults only, partial": {
			data: map[string]string{"__defaults__": "retentionPeriod: 30m\n"},
			want: ScaleToZeroConfig{
				Defaults: ScaleToZeroOverride{Retention: 30 * time.Minute},
				Models:   map[ModelRef]ScaleToZeroOverride{},
			},
		},

		// Invalid.
		"bad YAML in defaults": {
			data:    map[string]string{"__defaults__": "enableScaleToZero: [true\n"},
			wantErr: []string{"model-scale-to-zero-config", `key "__defaults__"`, "not valid YAML or JSON"},
		},
		"modelID in defaults": {
			data:    map[string]string{"__defaults__": "modelID: m\nenableScaleToZero: true\n"},
			wantErr: []string{`key "__defaults__"`, "unknown field modelID"},
		},
		"string bool": {
			data:    map[string]string{"__defaults__": "enableScaleToZero: \"true\"\n"},
			wantErr: []string{`key "__defaults__"`, "enableScaleToZero: expected true or false"},
		},
		"bad retention": {
			data:    map[string]string{"m": "modelID: m\nretentionPeriod: 5 minutes\n"},
			wantErr: []string{`key "m"`, `retentionPeriod: "5 minutes" is not a Go duration`},
		},
		"numeric retention": {
			data:    map[string]string{"m": "modelID: m\nretentionPeriod: 300\n"},
			wantErr: []string{`key "m"`, `retentionPeriod: expected a string, got number 300`},
		},
		"zero retention": {
			data:    map[string]string{"__defaults__": "retentionPeriod: 0s\n"},
			wantErr: []string{`key "__defaults__"`, "retentionPeriod", "out of range: must be between 1s and 24h"},
		},
		"negative retention": {
			data:    map[string]string{"m": "modelID: m\nretentionPeriod: -5m\n"},
			wantErr: []string{`key "m"`, "retentionPeriod", "out of range"},
		},
		"missing modelID": {
			data:    map[string]string{"llama": "enableScaleToZero: true\n"},
			wantErr: []string{`key "llama"`, "modelID: required"},
		},
		"bad namespace": {
			data:    map[string]string{"m": "modelID: m\nnamespace: -x\n"},
			wantErr: []string{`key "m"`, `namespace: "-x" is not a valid namespace name`},
		},
		"unknown field": {
			data:    map[string]string{"m": "modelID: m\nenableScaleToZeroo: true\n"},
			wantErr: []string{`key "m"`, `unknown field enableScaleToZeroo (did you mean "enableScaleToZero"?)`},
		},
		"snake case field": {
			data:    map[string]string{"m": "model_id: m\n"},
			wantErr: []string{`key "m"`, `unknown field model_id (did you mean "modelID"?)`},
		},
		"duplicate model": {
			data: map[string]string{
				"a": "modelID: m\nenableScaleToZero: true\n",
				"b": "modelID: m\nenableScaleToZero: false\n",
			},
			wantErr: []string{`key "b"`, `model "m" (any namespace) already has an entry under key "a"`},
		},
		"duplicate model in a namespace": {
			data: map[string]string{
				"a": "modelID: m\nnamespace: ns\nenableScaleToZero: true\n",
				"b": "modelID: m\nnamespace: ns\n",
			},
			wantErr: []string{`key "b"`, `model "m" in namespace "ns" already has an entry under key "a"`},
		},
		"not a mapping": {
			data:    map[string]string{"m": "- modelID: m\n"},
			wantErr: []string{`key "m"`, "must be a mapping"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseScaleToZero(tc.data)
			checkErr(t, err, tc.wantErr)
			if err != nil {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseScaleToZero() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
