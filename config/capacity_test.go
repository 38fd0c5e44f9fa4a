package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseCapacitySettings(t *testing.T) {
	tests := map[string]struct {
		data      map[string]string
		env       map[string]string
		want      CapacityConfig
		wantQuota map[string]int
		wantErr   string
	}{
		"defaults": {want: DefaultCapacityConfig()},
		"limited from the Nodes, own label and resource": {
			data: map[string]string{KeyCapacityMode: "Limited", KeyCapacityAcceleratorLabel: "example.com/accelerator", KeyCapacityResource: "amd.com/gpu"},
			want: CapacityConfig{Mode: CapacityLimited, AcceleratorLabel: "example.com/accelerator", Resource: "amd.com/gpu"},
		},
		"quota in canonical form": {
			data:      map[string]string{KeyCapacityMode: "limited", KeyCapacityQuota: " H100 = 16, A100=8 ,"},
			want:      CapacityConfig{Mode: CapacityLimited, AcceleratorLabel: DefaultAcceleratorLabel, Resource: DefaultAcceleratorResource, Quota: "A100=8,H100=16"},
			wantQuota: map[string]int{"A100": 8, "H100": 16},
		},
		"environment wins": {
			data: map[string]string{KeyCapacityMode: "limited"},
			env:  map[string]string{KeyCapacityMode: "unlimited"},
			want: DefaultCapacityConfig(),
		},
		"bad mode":              {data: map[string]string{KeyCapacityMode: "some"}, wantErr: `"some" is not a capacity mode`},
		"bad label":             {data: map[string]string{KeyCapacityAcceleratorLabel: "a b"}, wantErr: `"a b" is not a label key`},
		"resource not extended": {data: map[string]string{KeyCapacityResource: "gpu"}, wantErr: "not an extended resource name"},
		"quota without count":   {data: map[string]string{KeyCapacityQuota: "H100"}, wantErr: `"H100" is not type=count`},
		"quota negative":        {data: map[string]string{KeyCapacityQuota: "H100=-1"}, wantErr: "not a whole number"},
		"quota too big":         {data: map[string]string{KeyCapacityQuota: "H100=1048577"}, wantErr: "not a whole number"},
		"quota twice":           {data: map[string]string{KeyCapacityQuota: "H100=1,H100=2"}, wantErr: "given twice"},
		"quota empty":           {data: map[string]string{KeyCapacityQuota: ","}, wantErr: "names no accelerator type"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseOperatorConfig(tc.data, tc.env)
			if tc.wantErr != "" {
				var inv *InvalidError
				if !errors.As(err, &inv) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want an *InvalidError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got.Capacity); diff != "" {
				t.Errorf("capacity (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantQuota, got.Capacity.QuotaInventory()); diff != "" {
				t.Errorf("quota (-want +got):\n%s", diff)
			}
		})
	}
}

// A capacity change makes the global pass run now and enqueues no group by
// itself: the pass enqueues those whose budget changes.
func TestDiffCapacityKicksThePass(t *testing.T) {
	prev := Defaults()
	next, err := prev.With(OperatorConfigMapName, map[string]string{KeyCapacityMode: "limited"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Change{Timers: true}, Diff(prev, next)); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
}
