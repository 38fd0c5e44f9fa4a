package config

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// step is one event fed to a Store.
type step struct {
	del        bool // Delete instead of Update
	name       string
	data       map[string]string
	wantChange Change
	wantErr    []string
}

// cmState is what the Store reports about one ConfigMap.
type cmState struct {
	Valid  bool
	HasErr bool
}

func TestStore(t *testing.T) {
	goodCosts := map[string]string{"H100": `{"cost": "100"}`}
	badCosts := map[string]string{"H100": `{"cost": "cheap"}`}
	allFresh := map[string]cmState{
		OperatorConfigMapName:       {Valid: true},
		UnitCostsConfigMapName:      {Valid: true},
		ServiceClassesConfigMapName: {Valid: true},
		ScaleToZeroConfigMapName:    {Valid: true},
	}
	with := func(name string, s cmState) map[string]cmState {
		out := map[string]cmState{}
		for k, v := range allFresh {
			out[k] = v
		}
		out[name] = s
		return out
	}
	tests := map[string]struct {
		env         map[string]string
		steps       []step
		wantStates  map[string]cmState
		wantCosts   map[string]UnitCost
		wantOptIntv time.Duration
	}{
		"fresh store: defaults are valid": {
			wantStates:  allFresh,
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: time.Minute,
		},
		"good update": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: true}),
			wantCosts:   map[string]UnitCost{"H100": {Cost: 100}},
			wantOptIntv: time.Minute,
		},
		"invalid update keeps the last good version": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
				{name: UnitCostsConfigMapName, data: badCosts, wantErr: []string{"accelerator-unit-costs", `key "H100"`, "cost", "last good version stays in force"}},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: false, HasErr: true}),
			wantCosts:   map[string]UnitCost{"H100": {Cost: 100}},
			wantOptIntv: time.Minute,
		},
		"invalid and never good": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: badCosts, wantErr: []string{`key "H100"`}},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: false, HasErr: true}),
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: time.Minute,
		},
		"fixed after invalid: change is relative to the config in force": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
				{name: UnitCostsConfigMapName, data: badCosts, wantErr: []string{`key "H100"`}},
				{name: UnitCostsConfigMapName, data: map[string]string{"H100": `{"cost": "100.0"}`, "L4": `{"cost": "1"}`}, wantChange: Change{Accelerators: []string{"L4"}}},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: true}),
			wantCosts:   map[string]UnitCost{"H100": {Cost: 100}, "L4": {Cost: 1}},
			wantOptIntv: time.Minute,
		},
		"no-op update": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
				{name: UnitCostsConfigMapName, data: goodCosts},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: true}),
			wantCosts:   map[string]UnitCost{"H100": {Cost: 100}},
			wantOptIntv: time.Minute,
		},
		"delete reverts to defaults": {
			steps: []step{
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
				{name: UnitCostsConfigMapName, data: badCosts, wantErr: []string{`key "H100"`}},
				{del: true, name: UnitCostsConfigMapName, wantChange: Change{Accelerators: []string{"H100"}}},
			},
			wantStates:  with(UnitCostsConfigMapName, cmState{Valid: true}),
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: time.Minute,
		},
		"an invalid ConfigMap does not block the others": {
			steps: []step{
				{name: ScaleToZeroConfigMapName, data: map[string]string{"x": "modelID: m\nretentionPeriod: forever\n"}, wantErr: []string{"model-scale-to-zero-config", `key "x"`, "retentionPeriod"}},
				{name: UnitCostsConfigMapName, data: goodCosts, wantChange: Change{Accelerators: []string{"H100"}}},
			},
			wantStates: map[string]cmState{
				OperatorConfigMapName:       {Valid: true},
				UnitCostsConfigMapName:      {Valid: true},
				ServiceClassesConfigMapName: {Valid: true},
				ScaleToZeroConfigMapName:    {HasErr: true},
			},
			wantCosts:   map[string]UnitCost{"H100": {Cost: 100}},
			wantOptIntv: time.Minute,
		},
		"env wins over the ConfigMap": {
			env: map[string]string{KeyGlobalOptInterval: "30s", "PATH": "/bin"},
			steps: []step{
				// The env already set the interval: nothing changes.
				{name: OperatorConfigMapName, data: map[string]string{KeyGlobalOptInterval: "2m"}},
				{name: OperatorConfigMapName, data: map[string]string{KeyGlobalOptInterval: "2m", KeyGlobalPassInterval: "5m"}, wantChange: Change{Timers: true}},
				{del: true, name: OperatorConfigMapName, wantChange: Change{Timers: true}},
			},
			wantStates:  with(OperatorConfigMapName, cmState{Valid: true}),
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: 30 * time.Second,
		},
		"invalid env makes the operator ConfigMap invalid": {
			env: map[string]string{KeyGlobalOptInterval: "often"},
			steps: []step{
				{name: OperatorConfigMapName, data: map[string]string{KeyGlobalPassInterval: "5m"}, wantErr: []string{"environment variable GLOBAL_OPT_INTERVAL"}},
			},
			wantStates:  with(OperatorConfigMapName, cmState{HasErr: true}),
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: time.Minute,
		},
		"unknown ConfigMap": {
			steps: []step{
				{name: "kube-root-ca.crt", data: map[string]string{"ca.crt": "x"}, wantErr: []string{`"kube-root-ca.crt"`, "not a ConfigMap of the variant-autoscaler"}},
				{del: true, name: "other", wantErr: []string{`"other"`}},
			},
			wantStates:  allFresh,
			wantCosts:   map[string]UnitCost{},
			wantOptIntv: time.Minute,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewStore(tc.env)
			for i, st := range tc.steps {
				before := s.Config()
				var got Change
				var err error
				if st.del {
					got, err = s.Delete(st.name)
				} else {
					got, err = s.Update(st.name, st.data)
				}
				checkErr(t, err, st.wantErr)
				if err != nil {
					if s.Config() != before {
						t.Errorf("step %d: the config in force changed on error", i)
					}
					if IsConfigMapName(st.name) && !errors.Is(s.LastError(st.name), err) {
						t.Errorf("step %d: LastError = %v, want %v", i, s.LastError(st.name), err)
					}
				}
				if diff := cmp.Diff(st.wantChange, got); diff != "" {
					t.Errorf("step %d: Change mismatch (-want +got):\n%s", i, diff)
				}
			}
			gotStates := map[string]cmState{}
			for _, n := range Names() {
				gotStates[n] = cmState{Valid: s.Valid(n), HasErr: s.LastError(n) != nil}
			}
			if diff := cmp.Diff(tc.wantStates, gotStates); diff != "" {
				t.Errorf("states mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantCosts, s.Config().UnitCosts); diff != "" {
				t.Errorf("UnitCosts mismatch (-want +got):\n%s", diff)
			}
			if got := s.Config().Operator.OptInterval; got != tc.wantOptIntv {
				t.Errorf("OptInterval = %v, want %v", got, tc.wantOptIntv)
			}
		})
	}
}

func TestStoreErrorWrapsInvalidError(t *testing.T) {
	s := NewStore(nil)
	_, err := s.Update(ServiceClassesConfigMapName, map[string]string{"premium.yaml": "name: p\npriority: -1\n"})
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("errors.As(%v, *InvalidError) failed", err)
	}
	if inv.ConfigMap != ServiceClassesConfigMapName || len(inv.Problems) != 1 || inv.Problems[0].Key != "premium.yaml" {
		t.Errorf("InvalidError = %+v", inv)
	}
	if s.Valid("unknown") || s.LastError("unknown") != nil {
		t.Error("unknown ConfigMap reported as valid or failed")
	}
}

func TestStoreEnvIsCopied(t *testing.T) {
	env := map[string]string{KeyGlobalOptInterval: "30s"}
	s := NewStore(env)
	env[KeyGlobalOptInterval] = "not a duration"
	if _, err := s.Update(OperatorConfigMapName, nil); err != nil {
		t.Fatalf("Update after the caller changed its env map: %v", err)
	}
	if got := s.Config().Operator.OptInterval; got != 30*time.Second {
		t.Errorf("OptInterval = %v, want 30s", got)
	}
}

// TestStoreConcurrent runs readers against writers; run with -race to check
// the synchronization.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore(nil)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				cfg := s.Config()
				if cfg == nil {
					t.Error("nil config")
					return
				}
				for _, uc := range cfg.UnitCosts {
					if uc.Cost < 0 {
						t.Error("negative cost")
					}
				}
				_ = s.Valid(UnitCostsConfigMapName)
				_ = s.LastError(UnitCostsConfigMapName)
			}
		}()
	}
	var writers sync.WaitGroup
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func(w int) {
			defer writers.Done()
			for i := 0; i < 200; i++ {
				data := map[string]string{"H100": fmt.Sprintf(`{"cost": "%d"}`, i)}
				if i%7 == 0 {
					data["bad"] = "{"
				}
				_, _ = s.Update(UnitCostsConfigMapName, data)
				if i%50 == 0 {
					_, _ = s.Delete(UnitCostsConfigMapName)
				}
			}
		}(w)
	}
	writers.Wait()
	close(stop)
	wg.Wait()
}

func TestStoreSubscribersHearAppliedChangesOnly(t *testing.T) {
	s := NewStore(nil)
	var first, second []Change
	s.Subscribe(func(c Change) {
		if got := s.Config().UnitCosts["H100"].Cost; got != 100 {
			t.Errorf("a subscriber saw the old configuration in force: H100 cost %v", got)
		}
		first = append(first, c)
	})
	s.Subscribe(func(c Change) { second = append(second, c) })

	steps := []struct {
		name string
		data map[string]string
	}{
		{name: UnitCostsConfigMapName, data: map[string]string{"H100": `{"cost": "100"}`}},   // applied
		{name: UnitCostsConfigMapName, data: map[string]string{"H100": `{"cost": "100"}`}},   // no change
		{name: UnitCostsConfigMapName, data: map[string]string{"H100": `{"cost": "cheap"}`}}, // invalid
		{name: "unknown", data: nil}, // unknown ConfigMap
	}
	for _, st := range steps {
		_, _ = s.Update(st.name, st.data)
	}
	want := []Change{{Accelerators: []string{"H100"}}}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first subscriber (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, second); diff != "" {
		t.Errorf("second subscriber (-want +got):\n%s", diff)
	}
}
