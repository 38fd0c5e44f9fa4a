// Package guard keeps the load harness's headline properties in CI, at a
// small N with exact counts and no timing assertions (see docs/performance.md):
// the sharded operator evaluates only what an event affects and writes
// nothing in steady state; the global-per-va baseline evaluates N² VAs per
// ConfigMap change.
package guard

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/test/load/harness"
)

const n = 100

func options(strategy string, scenarios ...string) harness.Options {
	o := harness.Options{
		Shape:          harness.Shape{N: n, VariantsPerGroup: 4, Namespaces: 10},
		Strategy:       strategy,
		Scenarios:      scenarios,
		SteadyInterval: 4 * time.Second,
		Quiet:          time.Second,
		Timebox:        time.Minute,
		NoFloor:        true,
	}
	if testing.Verbose() {
		o.Log = os.Stderr
	}
	return o
}

func run(t *testing.T, o harness.Options) *harness.Result {
	t.Helper()
	res, err := harness.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("%s N=%d: %v", o.Strategy, o.N, err)
	}
	for _, p := range res.Scenarios {
		if p.Skipped != "" || p.TimedOut {
			t.Fatalf("%s: scenario %s did not complete: skipped=%q timedOut=%v mismatches=%v", o.Strategy, p.Name, p.Skipped, p.TimedOut, p.Mismatches)
		}
	}
	return res
}

func TestShardedWorkFollowsWhatChanged(t *testing.T) {
	res := run(t, options(harness.Sharded,
		harness.ScenarioSteady, harness.ScenarioInterval, harness.ScenarioCostQuarter, harness.ScenarioEdit))

	steady := res.Scenario(harness.ScenarioSteady)
	if steady.StatusWrites != 0 || steady.APIWrites != 0 {
		t.Errorf("steady state: %v status writes and %v API writes (%v), want none", steady.StatusWrites, steady.APIWrites, steady.API)
	}
	if steady.Evaluations == 0 {
		t.Errorf("steady state: no evaluation within one interval; the periodic re-evaluation did not run")
	}

	interval := res.Scenario(harness.ScenarioInterval)
	if interval.Evaluations != 0 || interval.Reconciles != 0 {
		t.Errorf("GLOBAL_OPT_INTERVAL change: %v reconciles, %v evaluations; want none (it only changes timers)", interval.Reconciles, interval.Evaluations)
	}

	cost := res.Scenario(harness.ScenarioCostQuarter)
	if cost.AffectedGroupVAs == 0 || cost.AffectedGroupVAs >= n {
		t.Fatalf("the cost change should affect some but not all VAs; it affects %d of %d", cost.AffectedGroupVAs, n)
	}
	if cost.Evaluations > float64(cost.AffectedGroupVAs) || cost.Evaluations == 0 {
		t.Errorf("MI300X cost change: %v evaluations, want between 1 and the %d VAs of the %d groups with an MI300X variant",
			cost.Evaluations, cost.AffectedGroupVAs, cost.AffectedGroups)
	}
	if cost.Reconciles > float64(cost.AffectedGroups) {
		t.Errorf("MI300X cost change: %v group reconciles, want at most %d", cost.Reconciles, cost.AffectedGroups)
	}

	edit := res.Scenario(harness.ScenarioEdit)
	if edit.Reconciles != 1 || edit.Evaluations != float64(edit.AffectedGroupVAs) {
		t.Errorf("one VA edited: %v reconciles and %v evaluations, want 1 reconcile of its group of %d VAs",
			edit.Reconciles, edit.Evaluations, edit.AffectedGroupVAs)
	}
}

func TestGlobalPerVAIsQuadraticPerConfigChange(t *testing.T) {
	res := run(t, options(harness.GlobalPerVA, harness.ScenarioInterval))
	interval := res.Scenario(harness.ScenarioInterval)
	if interval.Evaluations != n*n || interval.Reconciles != n {
		t.Errorf("GLOBAL_OPT_INTERVAL change with global-per-va: %v reconciles and %v evaluations, want %d and N² = %d",
			interval.Reconciles, interval.Evaluations, n, n*n)
	}
}
