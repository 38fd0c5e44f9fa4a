package config

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// mustLoad builds a Config from ConfigMap data or fails the test.
func mustLoad(t testing.TB, cms map[string]map[string]string, env map[string]string) *Config {
	t.Helper()
	cfg, err := Load(cms, env)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestVariantCost(t *testing.T) {
	cfg := mustLoad(t, map[string]map[string]string{
		UnitCostsConfigMapName: {
			"H100": `{"device": "NVIDIA-H100-80GB-HBM3", "cost": "100.0"}`,
			"L4":   `{"cost": "0.5"}`,
		},
	}, nil)
	tests := map[string]struct {
		spec    *llmdv1alpha1.VariantAutoscalingSpec
		want    float64
		wantErr []string
		wantIs  error
	}{
		"unit cost times count": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "H100", AcceleratorCount: 4},
			want: 400,
		},
		"count 0 counts as 1": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "L4"},
			want: 0.5,
		},
		"negative count counts as 1": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "L4", AcceleratorCount: -2},
			want: 0.5,
		},
		"variantCost wins": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "H100", AcceleratorCount: 4, VariantCost: "250.5"},
			want: 250.5,
		},
		"variantCost without a unit cost": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "TPU", VariantCost: "7"},
			want: 7,
		},
		"zero variantCost": {
			spec: &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "H100", VariantCost: "0"},
			want: 0,
		},
		"no cost": {
			spec:    &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "MI300X", AcceleratorCount: 2},
			wantErr: []string{`accelerator "MI300X"`, "accelerator-unit-costs", "spec.variantCost is not set"},
			wantIs:  ErrNoCost,
		},
		"accelerator names are case-sensitive": {
			spec:    &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "h100"},
			wantErr: []string{`accelerator "h100"`},
			wantIs:  ErrNoCost,
		},
		"bad variantCost": {
			spec:    &llmdv1alpha1.VariantAutoscalingSpec{Accelerator: "H100", VariantCost: "1e3"},
			wantErr: []string{"spec.variantCost"},
		},
		"nil spec": {
			wantErr: []string{"no spec"},
			wantIs:  ErrNoCost,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := cfg.VariantCost(tc.spec)
			checkErr(t, err, tc.wantErr)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("VariantCost() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSLOFor(t *testing.T) {
	cfg := mustLoad(t, map[string]map[string]string{
		ServiceClassesConfigMapName: {
			"premium.yaml": `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 100, slo-tpot: 10}
  - {model: m2, namespace: team-a, slo-ttft: 110, slo-tpot: 11}
  - {model: m3, slo-ttft: 120, slo-tpot: 12}
  - {model: m3, namespace: team-a, slo-ttft: 130, slo-tpot: 13}
`,
			"freemium.yaml": `name: freemium
priority: 5
data:
  - {model: m1, namespace: team-b, slo-ttft: 1000, slo-tpot: 100}
  - {model: m2, slo-ttft: 1100, slo-tpot: 110}
`,
		},
	}, nil)
	tests := map[string]struct {
		namespace, model, class string
		want                    SLO
		wantClass               string
		wantErr                 []string
	}{
		"by model, namespace-less entry": {
			namespace: "team-a", model: "m1",
			want: SLO{TTFT: 100, ITL: 10}, wantClass: "premium",
		},
		"by model, namespace entry beats namespace-less one in another class": {
			namespace: "team-b", model: "m1",
			want: SLO{TTFT: 1000, ITL: 100}, wantClass: "freemium",
		},
		"by model, namespace entry in premium": {
			namespace: "team-a", model: "m2",
			want: SLO{TTFT: 110, ITL: 11}, wantClass: "premium",
		},
		"by model, other namespace falls back to namespace-less entry": {
			namespace: "team-c", model: "m2",
			want: SLO{TTFT: 1100, ITL: 110}, wantClass: "freemium",
		},
		"by model, same class has both": {
			namespace: "team-a", model: "m3",
			want: SLO{TTFT: 130, ITL: 13}, wantClass: "premium",
		},
		"named class, namespace entry first": {
			namespace: "team-a", model: "m3", class: "premium",
			want: SLO{TTFT: 130, ITL: 13}, wantClass: "premium",
		},
		"named class, namespace-less entry": {
			namespace: "team-z", model: "m3", class: "premium",
			want: SLO{TTFT: 120, ITL: 12}, wantClass: "premium",
		},
		"named class wins over the search": {
			namespace: "team-b", model: "m1", class: "premium",
			want: SLO{TTFT: 100, ITL: 10}, wantClass: "premium",
		},
		"named class has no entry for the namespace": {
			namespace: "team-z", model: "m2", class: "premium",
			wantErr: []string{`service class "premium"`, `model "m2"`, `namespace "team-z"`, "no entry"},
		},
		"named class does not exist": {
			namespace: "team-a", model: "m1", class: "gold",
			wantErr: []string{`service class "gold"`, "not defined", "service-classes-config"},
		},
		"class names are case-sensitive": {
			namespace: "team-a", model: "m1", class: "Premium",
			wantErr: []string{`service class "Premium"`, "not defined"},
		},
		"unknown model": {
			namespace: "team-a", model: "m9",
			wantErr: []string{"no service class", `model "m9"`, `namespace "team-a"`, "service-classes-config"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, gotClass, err := cfg.SLOFor(tc.namespace, tc.model, tc.class)
			checkErr(t, err, tc.wantErr)
			if err != nil && !errors.Is(err, ErrNoSLO) {
				t.Errorf("error %v is not ErrNoSLO", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SLOFor() SLO mismatch (-want +got):\n%s", diff)
			}
			if gotClass != tc.wantClass {
				t.Errorf("SLOFor() class = %q, want %q", gotClass, tc.wantClass)
			}
		})
	}

	// A literal without the index resolves the same way (by scanning).
	literal := ServiceClasses{Classes: cfg.ServiceClasses.Classes}
	for name, tc := range tests {
		got, gotClass, err := literal.SLOFor(tc.namespace, tc.model, tc.class)
		if (err != nil) != (len(tc.wantErr) > 0) || got != tc.want || gotClass != tc.wantClass {
			t.Errorf("%s: literal SLOFor() = %v, %q, %v", name, got, gotClass, err)
		}
	}
}

func TestScaleToZeroFor(t *testing.T) {
	s2z := map[string]string{
		"__defaults__": "enableScaleToZero: true\nretentionPeriod: 15m\n",
		"m1":           "modelID: m1\nenableScaleToZero: false\n",
		"m1-prod":      "modelID: m1\nnamespace: prod\nretentionPeriod: 1h\n",
		"m2-prod":      "modelID: m2\nnamespace: prod\nenableScaleToZero: false\nretentionPeriod: 2h\n",
	}
	tests := map[string]struct {
		cms       map[string]map[string]string
		env       map[string]string
		namespace string
		model     string
		want      ScaleToZeroPolicy
	}{
		"no ConfigMaps: operator defaults": {
			namespace: "ns", model: "m1",
			want: ScaleToZeroPolicy{Enabled: false, Retention: 10 * time.Minute},
		},
		"operator fallback from ConfigMap": {
			cms: map[string]map[string]string{OperatorConfigMapName: {
				KeyScaleToZeroDefaultEnabled: "true", KeyScaleToZeroDefaultRetention: "3m",
			}},
			namespace: "ns", model: "m1",
			want: ScaleToZeroPolicy{Enabled: true, Retention: 3 * time.Minute},
		},
		"operator fallback from env": {
			env:       map[string]string{KeyScaleToZeroDefaultEnabled: "true"},
			namespace: "ns", model: "m1",
			want: ScaleToZeroPolicy{Enabled: true, Retention: 10 * time.Minute},
		},
		"__defaults__ beats operator fallback": {
			cms: map[string]map[string]string{
				OperatorConfigMapName:    {KeyScaleToZeroDefaultEnabled: "false", KeyScaleToZeroDefaultRetention: "3m"},
				ScaleToZeroConfigMapName: s2z,
			},
			namespace: "ns", model: "other",
			want: ScaleToZeroPolicy{Enabled: true, Retention: 15 * time.Minute},
		},
		"partial __defaults__ inherits from operator fallback": {
			cms: map[string]map[string]string{
				OperatorConfigMapName:    {KeyScaleToZeroDefaultRetention: "3m"},
				ScaleToZeroConfigMapName: {"__defaults__": "enableScaleToZero: true\n"},
			},
			namespace: "ns", model: "other",
			want: ScaleToZeroPolicy{Enabled: true, Retention: 3 * time.Minute},
		},
		"model entry, retention inherited from __defaults__": {
			cms:       map[string]map[string]string{ScaleToZeroConfigMapName: s2z},
			namespace: "dev", model: "m1",
			want: ScaleToZeroPolicy{Enabled: false, Retention: 15 * time.Minute},
		},
		"namespace entry, enabled inherited from model entry": {
			cms:       map[string]map[string]string{ScaleToZeroConfigMapName: s2z},
			namespace: "prod", model: "m1",
			want: ScaleToZeroPolicy{Enabled: false, Retention: time.Hour},
		},
		"namespace entry only applies to its namespace": {
			cms:       map[string]map[string]string{ScaleToZeroConfigMapName: s2z},
			namespace: "dev", model: "m2",
			want: ScaleToZeroPolicy{Enabled: true, Retention: 15 * time.Minute},
		},
		"complete namespace entry": {
			cms:       map[string]map[string]string{ScaleToZeroConfigMapName: s2z},
			namespace: "prod", model: "m2",
			want: ScaleToZeroPolicy{Enabled: false, Retention: 2 * time.Hour},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg := mustLoad(t, tc.cms, tc.env)
			if diff := cmp.Diff(tc.want, cfg.ScaleToZeroFor(tc.namespace, tc.model)); diff != "" {
				t.Errorf("ScaleToZeroFor() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	tests := map[string]struct {
		cms     map[string]map[string]string
		env     map[string]string
		wantErr []string
		wantIs  error
	}{
		"nothing":         {},
		"env only":        {env: map[string]string{KeyGlobalOptInterval: "5s"}},
		"unknown name":    {cms: map[string]map[string]string{"other": {}}, wantErr: []string{`"other"`}, wantIs: ErrUnknownConfigMap},
		"bad env":         {env: map[string]string{KeyGlobalOptInterval: "x"}, wantErr: []string{"environment variable GLOBAL_OPT_INTERVAL"}},
		"bad env, no CMs": {cms: map[string]map[string]string{UnitCostsConfigMapName: {}}, env: map[string]string{KeyGlobalOptInterval: "x"}, wantErr: []string{"GLOBAL_OPT_INTERVAL"}},
		"several bad ConfigMaps": {
			cms: map[string]map[string]string{
				UnitCostsConfigMapName:   {"H100": "{}"},
				ScaleToZeroConfigMapName: {"x": "{}"},
			},
			wantErr: []string{"accelerator-unit-costs", `key "H100"`, "model-scale-to-zero-config", `key "x"`},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(tc.cms, tc.env)
			checkErr(t, err, tc.wantErr)
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if err == nil && cfg == nil {
				t.Error("nil Config without error")
			}
		})
	}
	var inv *InvalidError
	_, err := Load(map[string]map[string]string{UnitCostsConfigMapName: {"H100": "{}"}, ScaleToZeroConfigMapName: {"x": "{}"}}, nil)
	if !errors.As(err, &inv) {
		t.Errorf("errors.As(%v, *InvalidError) failed", err)
	}
}

func TestWithLeavesReceiverUnchanged(t *testing.T) {
	base := Defaults()
	next, err := base.With(UnitCostsConfigMapName, map[string]string{"H100": `{"cost": "1"}`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.UnitCosts) != 0 || len(next.UnitCosts) != 1 {
		t.Errorf("base has %d costs, next %d; want 0 and 1", len(base.UnitCosts), len(next.UnitCosts))
	}
	same, err := next.With(UnitCostsConfigMapName, map[string]string{"H100": `{"cost": "x"}`}, nil)
	if err == nil || same != next {
		t.Errorf("With(invalid) = %p, %v; want the receiver and an error", same, err)
	}
}

func TestNames(t *testing.T) {
	want := []string{"variantautoscaling-config", "accelerator-unit-costs", "service-classes-config", "model-scale-to-zero-config"}
	if diff := cmp.Diff(want, Names()); diff != "" {
		t.Errorf("Names() mismatch (-want +got):\n%s", diff)
	}
	for _, n := range want {
		if !IsConfigMapName(n) {
			t.Errorf("IsConfigMapName(%q) = false", n)
		}
	}
	if IsConfigMapName("kube-root-ca.crt") {
		t.Error("IsConfigMapName(kube-root-ca.crt) = true")
	}
}
