package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOperatorRanges checks both ends of every range of
// variantautoscaling-config: the end itself is accepted, one step beyond it is
// refused with the range named.
func TestOperatorRanges(t *testing.T) {
	cases := map[string]struct {
		key         string
		ok          []string
		bad         []string
		wantMessage string
	}{
		"opt interval":       {KeyGlobalOptInterval, []string{"1s", "24h"}, []string{"1ms", "999ms", "24h1s", "720h"}, "between 1s and 24h"},
		"pass interval":      {KeyGlobalPassInterval, []string{"1s", "24h"}, []string{"1ms", "25h"}, "between 1s and 24h"},
		"query timeout":      {KeyPrometheusQueryTimeout, []string{"100ms", "5m"}, []string{"99ms", "5m1s"}, "between 100ms and 5m"},
		"staleness":          {KeyPrometheusStaleness, []string{"1s", "24h"}, []string{"500ms", "48h"}, "between 1s and 24h"},
		"default retention":  {KeyScaleToZeroDefaultRetention, []string{"1s", "24h"}, []string{"999us", "720h"}, "between 1s and 24h"},
		"stabilization":      {KeyStabilizationWindow, []string{"0s", "1h"}, []string{"-1s", "61m"}, "between 0s and 1h"},
		"ceiling":            {KeyMaxReplicasPerVariant, []string{"1", "10000"}, []string{"0", "10001", "-1", "99999999999999999999999999999999"}, "from 1 to 10000"},
		"scale-up replicas":  {KeyScaleUpMaxReplicas, []string{"1", "10000"}, []string{"0", "10001"}, "from 1 to 10000"},
		"scale-up percent":   {KeyScaleUpMaxPercent, []string{"1", "10000"}, []string{"0", "10001"}, "from 1 to 10000"},
		"scale-up period":    {KeyScaleUpPeriod, []string{"1s", "1h"}, []string{"1ms", "2h"}, "between 1s and 1h"},
		"load jump factor":   {KeyMaxLoadJumpFactor, []string{"0", "2", "1000000"}, []string{"1.5", "1000001"}, "0 (off) or from 2 to 1e+06"},
		"load jump confirm":  {KeyLoadJumpConfirmation, []string{"0s", "1h"}, []string{"61m"}, "between 0s and 1h"},
		"backlog drain time": {KeyBacklogDrainTime, []string{"0s", "30s", "1h"}, []string{"61m", "-1s"}, "between 0s and 1h"},
		"not a whole number": {KeyMaxReplicasPerVariant, nil, []string{"ten", "1.5", "1e3"}, "not a whole number"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, v := range tc.ok {
				if _, err := ParseOperatorConfig(map[string]string{tc.key: v}, nil); err != nil {
					t.Errorf("%s=%q: unexpected error %v", tc.key, v, err)
				}
			}
			for _, v := range tc.bad {
				_, err := ParseOperatorConfig(map[string]string{tc.key: v}, nil)
				if err == nil {
					t.Errorf("%s=%q: accepted, want an error", tc.key, v)
					continue
				}
				for _, want := range []string{`key "` + tc.key + `"`, tc.wantMessage} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s=%q: error %q does not contain %q", tc.key, v, err, want)
					}
				}
			}
		})
	}
}

// TestOperatorRangesFromEnv: an environment override out of range names the
// variable, not the key.
func TestOperatorRangesFromEnv(t *testing.T) {
	_, err := ParseOperatorConfig(nil, map[string]string{KeyGlobalOptInterval: "1ms"})
	if err == nil || !strings.Contains(err.Error(), "environment variable GLOBAL_OPT_INTERVAL") {
		t.Fatalf("want an error naming the environment variable, got %v", err)
	}
}

func TestUnitCostDigits(t *testing.T) {
	cases := map[string]struct {
		value   string
		want    float64
		wantErr string
	}{
		"ordinary":                {value: `{"cost": "100.0"}`, want: 100},
		"the maximum":             {value: `{"cost": "1000000"}`, want: 1_000_000},
		"nine decimals":           {value: `{"cost": "0.123456789"}`, want: 0.123456789},
		"above the maximum":       {value: `{"cost": "10000000"}`, wantErr: "at most 1000000 per accelerator"},
		"32 digits":               {value: `{"cost": "99999999999999999999999999999999"}`, wantErr: "out of range"},
		"ten decimals":            {value: `{"cost": "0.1234567891"}`, wantErr: "more than 9 digits after the decimal point"},
		"huge number, not string": {value: `{"cost": 1e30}`, wantErr: "cost"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			costs, err := ParseUnitCosts(map[string]string{"H100": tc.value})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, costs["H100"].Cost); diff != "" {
				t.Errorf("cost mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServiceClassRanges(t *testing.T) {
	cases := map[string]struct {
		value   string
		wantErr string
	}{
		"SLO of an hour":         {value: "name: a\ndata:\n- {model: m, slo-ttft: 3600000, slo-tpot: 1}\n"},
		"SLO above an hour":      {value: "name: a\ndata:\n- {model: m, slo-ttft: 3600001, slo-tpot: 1}\n", wantErr: "slo-ttft: must be at most 3.6e+06"},
		"ITL above an hour":      {value: "name: a\ndata:\n- {model: m, slo-ttft: 1, slo-tpot: 1e300}\n", wantErr: "slo-tpot: must be at most"},
		"priority at the top":    {value: "name: a\npriority: 1000000\n"},
		"priority above the top": {value: "name: a\npriority: 1000001\n", wantErr: "priority: must be from 0 to 1000000"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ParseServiceClasses(map[string]string{"a.yaml": tc.value})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
}

func TestRetentionRange(t *testing.T) {
	for _, v := range []string{"720h", "999us", "500ms"} {
		_, err := ParseScaleToZero(map[string]string{"m": "modelID: m\nretentionPeriod: " + v + "\n"})
		if err == nil || !strings.Contains(err.Error(), "between 1s and 24h") {
			t.Errorf("retentionPeriod %s: want a range error, got %v", v, err)
		}
	}
	if _, err := ParseScaleToZero(map[string]string{"m": "modelID: m\nretentionPeriod: 24h\n"}); err != nil {
		t.Errorf("retentionPeriod 24h: %v", err)
	}
}
