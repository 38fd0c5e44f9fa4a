package config

import (
	"math"
	"testing"
)

// Fuzz targets: no input may panic a parser, and whatever is accepted must
// give values that are finite and within their documented bounds. The seeds
// run as ordinary tests; fuzz with e.g.
//
//	GOWORK=off go test ./config/ -run '^$' -fuzz FuzzParseServiceClasses -fuzztime 15s

// checkBounds fails t when cfg holds a value outside its documented bounds or
// when its resolution helpers disagree with its content.
func checkBounds(t *testing.T, cfg *Config) {
	t.Helper()
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	o := cfg.Operator
	switch {
	case o.OptInterval <= 0, o.PassInterval <= 0:
		t.Errorf("interval not > 0: %+v", o)
	case o.Prometheus.QueryTimeout <= 0, o.Prometheus.Staleness <= 0:
		t.Errorf("Prometheus timeout or staleness not > 0: %+v", o.Prometheus)
	case o.ScaleToZeroDefault.Retention <= 0:
		t.Errorf("default retention not > 0: %v", o.ScaleToZeroDefault)
	case o.StabilizationWindow < 0:
		t.Errorf("stabilization window < 0: %v", o.StabilizationWindow)
	case !finite(o.CostSavingThreshold) || o.CostSavingThreshold < 0 || o.CostSavingThreshold >= 1:
		t.Errorf("cost saving threshold out of [0,1): %v", o.CostSavingThreshold)
	case !finite(o.LoadChangeTolerance) || o.LoadChangeTolerance < 0 || o.LoadChangeTolerance > 1:
		t.Errorf("load change tolerance out of [0,1]: %v", o.LoadChangeTolerance)
	case (o.Prometheus.ClientCertPath == "") != (o.Prometheus.ClientKeyPath == ""):
		t.Errorf("client cert without key or key without cert: %+v", o.Prometheus)
	case o.Prometheus.BearerToken != "" && o.Prometheus.TokenPath != "":
		t.Errorf("token and token path: %+v", o.Prometheus)
	}
	checkOperatorRanges(t, o)
	for acc, uc := range cfg.UnitCosts {
		if !finite(uc.Cost) || uc.Cost < 0 || uc.Cost > MaxUnitCost {
			t.Errorf("unit cost of %q out of range: %v", acc, uc.Cost)
		}
	}
	for name, c := range cfg.ServiceClasses.Classes {
		if name == "" || name != c.Name || c.Priority < 0 {
			t.Errorf("bad class %q: %+v", name, c)
		}
		for ref, slo := range c.SLOs {
			if !finite(slo.TTFT) || !finite(slo.ITL) || slo.TTFT <= 0 || slo.ITL <= 0 || slo.TTFT > rangeServiceClassSLO.max || slo.ITL > rangeServiceClassSLO.max {
				t.Errorf("class %q, %s: SLO out of range: %+v", name, ref, slo)
			}
			if ref.ModelID == "" {
				t.Errorf("class %q: empty model", name)
			}
			got, gotClass, err := cfg.SLOFor(ref.Namespace, ref.ModelID, name)
			if err != nil || got != slo || gotClass != name {
				t.Errorf("SLOFor(%q, %q, %q) = %v, %q, %v; want %v", ref.Namespace, ref.ModelID, name, got, gotClass, err, slo)
			}
			got, gotClass, err = cfg.SLOFor(ref.Namespace, ref.ModelID, "")
			if err != nil || got != slo || gotClass != name {
				t.Errorf("SLOFor(%q, %q, \"\") = %v, %q, %v; want %v from %q", ref.Namespace, ref.ModelID, got, gotClass, err, slo, name)
			}
		}
	}
	s := cfg.ScaleToZero
	if s.Defaults.Retention < 0 {
		t.Errorf("__defaults__ retention < 0: %v", s.Defaults)
	}
	for ref, e := range s.Models {
		if e.Retention < 0 || e.Retention > rangeRetention.max || ref.ModelID == "" {
			t.Errorf("scale-to-zero entry %s out of range: %+v", ref, e)
		}
		if p := cfg.ScaleToZeroFor(ref.Namespace, ref.ModelID); p.Retention <= 0 {
			t.Errorf("ScaleToZeroFor(%s) retention not > 0: %v", ref, p)
		}
	}
	if c := Diff(cfg, cfg); !c.Empty() {
		t.Errorf("Diff(cfg, cfg) = %+v, want empty", c)
	}
}

func FuzzParseOperatorConfig(f *testing.F) {
	for _, k := range OperatorKeys() {
		f.Add(k, "", "", "")
	}
	seeds := [][4]string{
		{KeyGlobalOptInterval, "60s", KeyGlobalOptInterval, "30s"},
		{KeyGlobalPassInterval, "0s", "", ""},
		{KeyPrometheusBaseURL, "https://prometheus:9091/x", KeyPrometheusInsecureSkipVerify, "true"},
		{KeyPrometheusBaseURL, "http://u:p@h", "", ""},
		{KeyPrometheusClientCertPath, "/c", KeyPrometheusClientKeyPath, "/k"},
		{KeyPrometheusClientCertPath, "/c", "", ""},
		{KeyPrometheusBearerToken, "t", KeyPrometheusTokenPath, "/t"},
		{KeyCostSavingThreshold, "0.999999", KeyLoadChangeTolerance, "1"},
		{KeyCostSavingThreshold, "1", KeyLoadChangeTolerance, "1.0000001"},
		{KeyStabilizationWindow, "0", KeyScaleToZeroDefaultRetention, "-1ns"},
		{KeyScaleToZeroDefaultEnabled, "T", KeyPrometheusStaleness, "2562047h47m16.854775807s"},
		{"UNKNOWN", "x", "PATH", "/bin"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, key, value, envKey, envValue string) {
		data := map[string]string{key: value}
		env := map[string]string{envKey: envValue}
		o, err := ParseOperatorConfig(data, env)
		if err != nil {
			if o != DefaultOperatorConfig() {
				t.Errorf("error %v returned with non-default config %+v", err, o)
			}
			return
		}
		cfg := Defaults()
		cfg.Operator = o
		checkBounds(t, cfg)
		// The same data through the Store must be accepted as well.
		s := NewStore(env)
		if _, err := s.Update(OperatorConfigMapName, data); err != nil {
			t.Errorf("Store rejected what ParseOperatorConfig accepted: %v", err)
		}
	})
}

func FuzzParseUnitCosts(f *testing.F) {
	seeds := [][2]string{
		{"H100", `{"device": "NVIDIA-H100-80GB-HBM3", "cost": "100.0"}`},
		{"A100", `{"cost": "40.00"}`},
		{"L4", "cost: 12.5\n"},
		{"L4", `{"cost": 1e300}`},
		{"L4", `{"cost": "99999999999999999999999999999999"}`},
		{"x", `{"cost": -0}`},
		{"x", `{"cost": "-0"}`},
		{"x", `{"cost": ".5"}`},
		{"x", `{"cost": "0x10"}`},
		{"x", `{"device": null, "cost": "0"}`},
		{"x", `{"cost": "1", "Cost": "2"}`},
		{"x", `[`},
		{"x", `null`},
		{"x", "cost: !!float .nan\n"},
		{"x", "&a cost: *a\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		costs, err := ParseUnitCosts(map[string]string{key: value})
		if err != nil {
			return
		}
		cfg := Defaults()
		cfg.UnitCosts = costs
		checkBounds(t, cfg)
	})
}

func FuzzParseServiceClasses(f *testing.F) {
	seeds := [][2]string{
		{premiumYAML, freemiumYAML},
		{"name: a\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n", "name: b\ndata:\n- {model: m, namespace: ns, slo-ttft: 2, slo-tpot: 2}\n"},
		{"name: a\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n", "name: b\ndata:\n- {model: m, slo-ttft: 2, slo-tpot: 2}\n"},
		{"name: a\n", "name: a\n"},
		{"name: a\npriority: 2147483648\n", "name: b\npriority: -0\n"},
		{"name: a\ndata:\n- {model: m, slo-ttft: 1e308, slo-tpot: 5e-324}\n", "{}"},
		{"name: a\ndata:\n- {model: m, slo-ttft: 1e309, slo-tpot: 1}\n", "name: ''\n"},
		{`{"name": "a", "data": [{"model": "m", "slo-ttft": 1, "slo-tpot": 1}, null]}`, "- a\n"},
		{"name: a\ndata: &d\n- {model: m, slo-ttft: 1, slo-tpot: 1}\n", "name: b\ndata: []\n"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		classes, err := ParseServiceClasses(map[string]string{"a.yaml": a, "b.yaml": b})
		if err != nil {
			return
		}
		cfg := Defaults()
		cfg.ServiceClasses = classes
		checkBounds(t, cfg)
	})
}

func FuzzParseScaleToZero(f *testing.F) {
	seeds := [][3]string{
		{"enableScaleToZero: true\nretentionPeriod: 15m\n", "modelID: m\nenableScaleToZero: false\n", "modelID: m\nnamespace: ns\nretentionPeriod: 1h\n"},
		{"", "modelID: m\n", "modelID: m\n"},
		{"retentionPeriod: 0s\n", "modelID: m\nretentionPeriod: 1ns\n", "modelID: m\nnamespace: NS\n"},
		{"modelID: m\n", `{"modelID": "m", "enableScaleToZero": null}`, "modelID: ''\n"},
		{"retentionPeriod: 2562047h47m16.854775808s\n", "modelID: m\nretentionPeriod: -1s\n", "[]"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, defaults, a, b string) {
		data := map[string]string{"a": a, "b": b}
		if defaults != "" {
			data[ScaleToZeroDefaultsKey] = defaults
		}
		s2z, err := ParseScaleToZero(data)
		if err != nil {
			return
		}
		cfg := Defaults()
		cfg.ScaleToZero = s2z
		checkBounds(t, cfg)
	})
}
