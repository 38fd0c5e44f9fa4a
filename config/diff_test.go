package config

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// baseCMs is a complete configuration the diff cases start from.
func baseCMs() map[string]map[string]string {
	return map[string]map[string]string{
		OperatorConfigMapName: {
			KeyGlobalOptInterval: "60s",
			KeyPrometheusBaseURL: "http://prometheus:9090",
		},
		UnitCostsConfigMapName: {
			"H100": `{"device": "NVIDIA-H100-80GB-HBM3", "cost": "100.0"}`,
			"A100": `{"device": "NVIDIA-A100-PCIE-80GB", "cost": "40.0"}`,
		},
		ServiceClassesConfigMapName: {
			"premium.yaml": `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 500, slo-tpot: 24}
  - {model: m2, namespace: team-a, slo-ttft: 500, slo-tpot: 80}
`,
			"freemium.yaml": `name: freemium
priority: 10
data:
  - {model: m3, slo-ttft: 2000, slo-tpot: 200}
`,
		},
		ScaleToZeroConfigMapName: {
			"__defaults__": "enableScaleToZero: false\nretentionPeriod: 10m\n",
			"m1":           "modelID: m1\nenableScaleToZero: true\n",
			"m1-prod":      "modelID: m1\nnamespace: prod\nretentionPeriod: 1h\n",
		},
	}
}

func TestDiff(t *testing.T) {
	tests := map[string]struct {
		edit func(cms map[string]map[string]string) // applied to a copy of baseCMs
		env  map[string]string                      // environment of the new config
		want Change
	}{
		"no-op": {
			edit: func(map[string]map[string]string) {},
		},
		"same content, other ConfigMap keys and number formats": {
			edit: func(cms map[string]map[string]string) {
				cms[UnitCostsConfigMapName] = map[string]string{
					"H100": `{"device": "NVIDIA-H100-80GB-HBM3", "cost": "100"}`,
					"A100": "device: NVIDIA-A100-PCIE-80GB\ncost: 40\n",
				}
				sc := cms[ServiceClassesConfigMapName]
				sc["gold"] = sc["premium.yaml"]
				delete(sc, "premium.yaml")
				s2z := cms[ScaleToZeroConfigMapName]
				s2z["llama"] = s2z["m1"]
				delete(s2z, "m1")
				cms[OperatorConfigMapName][KeyGlobalOptInterval] = "1m"
			},
		},
		"interval only: timers, no group": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyGlobalOptInterval] = "30s" },
			want: Change{Timers: true},
		},
		"pass interval: timers": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyGlobalPassInterval] = "1h" },
			want: Change{Timers: true},
		},
		"load change tolerance: timers": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyLoadChangeTolerance] = "0.2" },
			want: Change{Timers: true},
		},
		"interval from env": {
			edit: func(map[string]map[string]string) {},
			env:  map[string]string{KeyGlobalPassInterval: "20m"},
			want: Change{Timers: true},
		},
		"H100 cost": {
			edit: func(cms map[string]map[string]string) {
				cms[UnitCostsConfigMapName]["H100"] = `{"device": "NVIDIA-H100-80GB-HBM3", "cost": "90.0"}`
			},
			want: Change{Accelerators: []string{"H100"}},
		},
		"device only": {
			edit: func(cms map[string]map[string]string) { cms[UnitCostsConfigMapName]["A100"] = `{"cost": "40"}` },
			want: Change{Accelerators: []string{"A100"}},
		},
		"accelerators added and removed, sorted": {
			edit: func(cms map[string]map[string]string) {
				delete(cms[UnitCostsConfigMapName], "H100")
				cms[UnitCostsConfigMapName]["L4"] = `{"cost": "2"}`
				cms[UnitCostsConfigMapName]["B200"] = `{"cost": "150"}`
			},
			want: Change{Accelerators: []string{"B200", "H100", "L4"}},
		},
		"unit costs ConfigMap deleted": {
			edit: func(cms map[string]map[string]string) { delete(cms, UnitCostsConfigMapName) },
			want: Change{Accelerators: []string{"A100", "H100"}},
		},
		"Prometheus URL": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyPrometheusBaseURL] = "https://prometheus:9091"
			},
			want: Change{Prometheus: true},
		},
		"Prometheus server name": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyPrometheusServerName] = "prom.example"
			},
			want: Change{Prometheus: true},
		},
		"Prometheus staleness and timeout": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyPrometheusStaleness] = "1m"
				cms[OperatorConfigMapName][KeyPrometheusQueryTimeout] = "5s"
			},
			want: Change{Prometheus: true},
		},
		"stabilization window: all groups": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyStabilizationWindow] = "1m" },
			want: Change{AllGroups: true},
		},
		"backlog drain time: all groups": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyBacklogDrainTime] = "30s" },
			want: Change{AllGroups: true},
		},
		"cost saving threshold: all groups": {
			edit: func(cms map[string]map[string]string) { cms[OperatorConfigMapName][KeyCostSavingThreshold] = "0.05" },
			want: Change{AllGroups: true},
		},
		"all groups covers the lists, timers still reported": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyStabilizationWindow] = "1m"
				cms[OperatorConfigMapName][KeyGlobalOptInterval] = "30s"
				cms[UnitCostsConfigMapName]["H100"] = `{"cost": "1"}`
			},
			want: Change{AllGroups: true, Timers: true},
		},
		"SLO of a namespace-less entry": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["premium.yaml"] = `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 400, slo-tpot: 24}
  - {model: m2, namespace: team-a, slo-ttft: 500, slo-tpot: 80}
`
			},
			want: Change{Models: []ModelRef{{ModelID: "m1"}}, ServiceClasses: []string{"premium"}},
		},
		"SLO of a namespaced entry": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["premium.yaml"] = `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 500, slo-tpot: 24}
  - {model: m2, namespace: team-a, slo-ttft: 500, slo-tpot: 60}
`
			},
			want: Change{Models: []ModelRef{{Namespace: "team-a", ModelID: "m2"}}, ServiceClasses: []string{"premium"}},
		},
		"entry added and removed": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["premium.yaml"] = `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 500, slo-tpot: 24}
  - {model: m4, namespace: team-b, slo-ttft: 500, slo-tpot: 60}
`
			},
			want: Change{
				Models:         []ModelRef{{Namespace: "team-a", ModelID: "m2"}, {Namespace: "team-b", ModelID: "m4"}},
				ServiceClasses: []string{"premium"},
			},
		},
		"priority: every model of the class": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["premium.yaml"] = `name: premium
priority: 2
data:
  - {model: m1, slo-ttft: 500, slo-tpot: 24}
  - {model: m2, namespace: team-a, slo-ttft: 500, slo-tpot: 80}
`
			},
			want: Change{
				Models:         []ModelRef{{ModelID: "m1"}, {Namespace: "team-a", ModelID: "m2"}},
				ServiceClasses: []string{"premium"},
			},
		},
		"class added": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["gold"] = "name: gold\ndata:\n- {model: m9, slo-ttft: 1, slo-tpot: 1}\n"
			},
			want: Change{Models: []ModelRef{{ModelID: "m9"}}, ServiceClasses: []string{"gold"}},
		},
		"empty class added: VAs naming it": {
			edit: func(cms map[string]map[string]string) { cms[ServiceClassesConfigMapName]["gold"] = "name: gold\n" },
			want: Change{ServiceClasses: []string{"gold"}},
		},
		"class removed": {
			edit: func(cms map[string]map[string]string) { delete(cms[ServiceClassesConfigMapName], "freemium.yaml") },
			want: Change{Models: []ModelRef{{ModelID: "m3"}}, ServiceClasses: []string{"freemium"}},
		},
		"class renamed": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["freemium.yaml"] = "name: free\npriority: 10\ndata:\n- {model: m3, slo-ttft: 2000, slo-tpot: 200}\n"
			},
			want: Change{Models: []ModelRef{{ModelID: "m3"}}, ServiceClasses: []string{"free", "freemium"}},
		},
		"entry moved between classes": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["freemium.yaml"] = "name: freemium\npriority: 10\n"
				cms[ServiceClassesConfigMapName]["premium.yaml"] = `name: premium
priority: 1
data:
  - {model: m1, slo-ttft: 500, slo-tpot: 24}
  - {model: m2, namespace: team-a, slo-ttft: 500, slo-tpot: 80}
  - {model: m3, slo-ttft: 2000, slo-tpot: 200}
`
			},
			want: Change{Models: []ModelRef{{ModelID: "m3"}}, ServiceClasses: []string{"freemium", "premium"}},
		},
		"scale-to-zero __defaults__: all groups": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["__defaults__"] = "enableScaleToZero: true\nretentionPeriod: 10m\n"
			},
			want: Change{AllGroups: true},
		},
		"scale-to-zero __defaults__ removed, same operator fallback: nothing": {
			// __defaults__ equals the operator fallback (false, 10m).
			edit: func(cms map[string]map[string]string) { delete(cms[ScaleToZeroConfigMapName], "__defaults__") },
		},
		"operator fallback hidden by complete __defaults__: nothing": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyScaleToZeroDefaultEnabled] = "true"
				cms[OperatorConfigMapName][KeyScaleToZeroDefaultRetention] = "1h"
			},
		},
		"operator fallback without __defaults__: all groups": {
			edit: func(cms map[string]map[string]string) {
				delete(cms[ScaleToZeroConfigMapName], "__defaults__")
				cms[OperatorConfigMapName][KeyScaleToZeroDefaultEnabled] = "true"
			},
			want: Change{AllGroups: true},
		},
		"operator fallback field not set by __defaults__: all groups": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["__defaults__"] = "enableScaleToZero: false\n"
				cms[OperatorConfigMapName][KeyScaleToZeroDefaultRetention] = "20m"
			},
			want: Change{AllGroups: true},
		},
		"per-model scale-to-zero entry: that model only": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m1"] = "modelID: m1\nenableScaleToZero: true\nretentionPeriod: 30m\n"
			},
			want: Change{Models: []ModelRef{{ModelID: "m1"}}},
		},
		"namespaced scale-to-zero entry: that namespace only": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m1-prod"] = "modelID: m1\nnamespace: prod\nretentionPeriod: 2h\n"
			},
			want: Change{Models: []ModelRef{{Namespace: "prod", ModelID: "m1"}}},
		},
		"scale-to-zero entry added": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m7"] = "modelID: m7\nnamespace: dev\nenableScaleToZero: true\n"
			},
			want: Change{Models: []ModelRef{{Namespace: "dev", ModelID: "m7"}}},
		},
		"scale-to-zero entry removed": {
			edit: func(cms map[string]map[string]string) { delete(cms[ScaleToZeroConfigMapName], "m1") },
			want: Change{Models: []ModelRef{{ModelID: "m1"}}},
		},
		"scale-to-zero entry equal to what it inherits: nothing": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m8"] = "modelID: m8\nenableScaleToZero: false\n"
			},
		},
		"namespaced entry made redundant: nothing": {
			// m1 in prod: enabled (from m1), 1h (own). Spelling out the
			// inherited field changes nothing.
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m1-prod"] = "modelID: m1\nnamespace: prod\nenableScaleToZero: true\nretentionPeriod: 1h\n"
			},
		},
		"model-wide entry change covers its namespaced refs": {
			edit: func(cms map[string]map[string]string) {
				cms[ScaleToZeroConfigMapName]["m1"] = "modelID: m1\nenableScaleToZero: false\n"
				cms[ScaleToZeroConfigMapName]["m1-prod"] = "modelID: m1\nnamespace: prod\nretentionPeriod: 2h\n"
			},
			want: Change{Models: []ModelRef{{ModelID: "m1"}}},
		},
		"SLO and scale-to-zero of one model: one ref, sorted with the others": {
			edit: func(cms map[string]map[string]string) {
				cms[ServiceClassesConfigMapName]["freemium.yaml"] = "name: freemium\npriority: 10\ndata:\n- {model: m3, slo-ttft: 2000, slo-tpot: 100}\n"
				cms[ScaleToZeroConfigMapName]["m3"] = "modelID: m3\nenableScaleToZero: true\n"
				cms[ScaleToZeroConfigMapName]["m0"] = "modelID: m0\nnamespace: a\nenableScaleToZero: true\n"
			},
			want: Change{
				Models:         []ModelRef{{ModelID: "m3"}, {Namespace: "a", ModelID: "m0"}},
				ServiceClasses: []string{"freemium"},
			},
		},
		"everything at once except all groups": {
			edit: func(cms map[string]map[string]string) {
				cms[OperatorConfigMapName][KeyGlobalOptInterval] = "2m"
				cms[OperatorConfigMapName][KeyPrometheusBaseURL] = "http://other:9090"
				cms[UnitCostsConfigMapName]["A100"] = `{"cost": "41"}`
				cms[ScaleToZeroConfigMapName]["m1-prod"] = "modelID: m1\nnamespace: prod\n"
			},
			want: Change{
				Accelerators: []string{"A100"},
				Models:       []ModelRef{{Namespace: "prod", ModelID: "m1"}},
				Timers:       true,
				Prometheus:   true,
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			old := mustLoad(t, baseCMs(), nil)
			cms := baseCMs()
			tc.edit(cms)
			next := mustLoad(t, cms, tc.env)
			got := Diff(old, next)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Diff() mismatch (-want +got):\n%s", diff)
			}
			if got.Empty() != cmp.Equal(tc.want, Change{}) {
				t.Errorf("Empty() = %v for %+v", got.Empty(), got)
			}
			// The reverse change touches the same groups.
			back := Diff(next, old)
			if diff := cmp.Diff(tc.want, back); diff != "" {
				t.Errorf("reverse Diff() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiffNil(t *testing.T) {
	everything := Change{AllGroups: true, Timers: true, Prometheus: true}
	tests := map[string]struct {
		old, new *Config
		want     Change
	}{
		"both nil":  {},
		"from nil":  {new: Defaults(), want: everything},
		"to nil":    {old: Defaults(), want: everything},
		"defaults":  {old: Defaults(), new: Defaults()},
		"same copy": {old: mustLoad(t, baseCMs(), nil), new: mustLoad(t, baseCMs(), nil)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Diff(tc.old, tc.new)); diff != "" {
				t.Errorf("Diff() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
