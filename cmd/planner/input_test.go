package main

import (
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/allocator"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const minimal = `
slo: {ttft: 500, itl: 50}
load: {rate: 10, inputTokens: 100, outputTokens: 20}
variants:
- name: a
  cost: 10
  profile: {maxBatchSize: 8, alpha: 5, beta: 0.1, gamma: 10, delta: 0.01}
`

func TestParseInputValid(t *testing.T) {
	src := minimal + `
- name: b
  accelerator: H100
  acceleratorCount: 2
  cost: 0
  profile: {maxBatchSize: 16, alpha: 4, beta: 0, gamma: 0, delta: 0}
  min: 1
  max: 3
  current: 2
policy: {costSavingThreshold: 0.2, stabilizationWindow: 2m, backlogDrainTime: 30s}
`
	p, err := parseInput([]byte(src), now)
	if err != nil {
		t.Fatal(err)
	}
	want := allocator.Input{
		Variants: []allocator.Variant{
			{Name: "a", Cost: 10, Profile: allocator.Profile{MaxBatchSize: 8, Alpha: 5, Beta: 0.1, Gamma: 10, Delta: 0.01}, Max: allocator.Unbounded},
			{Name: "b", Cost: 0, Profile: allocator.Profile{MaxBatchSize: 16, Alpha: 4}, Min: 1, Max: 3, Current: 2},
		},
		SLO:  allocator.SLO{TTFT: 500, ITL: 50},
		Load: allocator.Load{Available: true, Rate: 10, AvgIn: 100, AvgOut: 20},
		Policy: allocator.Policy{Retention: 10 * time.Minute, StabilizationWindow: 2 * time.Minute, CostSavingThreshold: 0.2,
			MaxReplicasPerVariant: 100, BacklogDrain: 30 * time.Second},
		Now: now,
	}
	if diff := cmp.Diff(want, p.Input); diff != "" {
		t.Errorf("input (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"-", "H100x2"}, p.Accelerators); diff != "" {
		t.Errorf("accelerators (-want +got):\n%s", diff)
	}
}

func TestParseInputErrors(t *testing.T) {
	tests := map[string]struct {
		src     string
		wantErr string
	}{
		"unknown field":          {minimal + "  colour: red\n", `unknown field "colour"`},
		"unknown top field":      {minimal + "extra: 1\n", `unknown field "extra"`},
		"duplicate field":        {"slo: {ttft: 1, ttft: 2, itl: 1}\n", `key "ttft" already set`},
		"not YAML":               {"slo: [", "decoding"},
		"missing slo":            {strings.Replace(minimal, "slo: {ttft: 500, itl: 50}", "", 1), "slo: required"},
		"missing itl":            {strings.Replace(minimal, ", itl: 50", "", 1), "slo.itl: required"},
		"zero ttft":              {strings.Replace(minimal, "ttft: 500", "ttft: 0", 1), "slo.ttft: must be a positive number"},
		"missing load":           {strings.Replace(minimal, "load: {rate: 10, inputTokens: 100, outputTokens: 20}", "", 1), "load: required"},
		"negative rate":          {strings.Replace(minimal, "rate: 10", "rate: -1", 1), "load.rate: must be in [0, 1e+12], got -1"},
		"zero output tokens":     {strings.Replace(minimal, "outputTokens: 20", "outputTokens: 0", 1), "load.outputTokens: must be in [1"},
		"missing tokens":         {strings.Replace(minimal, ", inputTokens: 100", "", 1), "load.inputTokens: required"},
		"no variants":            {"slo: {ttft: 1, itl: 1}\nload: {rate: 1, inputTokens: 1, outputTokens: 1}\n", "variants: at least one"},
		"missing name":           {strings.Replace(minimal, "- name: a", "- accelerator: X", 1), "variants[0].name: required"},
		"duplicate name":         {minimal + "- name: a\n  cost: 1\n  profile: {maxBatchSize: 8, alpha: 5, beta: 0, gamma: 0, delta: 0}\n", `variants[1].name: "a" is also the name of variants[0]`},
		"missing cost":           {strings.Replace(minimal, "  cost: 10\n", "", 1), "variants[0] (a).cost: required"},
		"negative cost":          {strings.Replace(minimal, "cost: 10", "cost: -10", 1), "variants[0] (a).cost: must be in [0"},
		"missing profile":        {strings.Replace(minimal, "  profile: {maxBatchSize: 8, alpha: 5, beta: 0.1, gamma: 10, delta: 0.01}\n", "", 1), "variants[0] (a).profile: required"},
		"missing batch size":     {strings.Replace(minimal, "maxBatchSize: 8, ", "", 1), "profile.maxBatchSize: required"},
		"batch size too large":   {strings.Replace(minimal, "maxBatchSize: 8", "maxBatchSize: 5000", 1), "profile.maxBatchSize: must be in [1, 4096], got 5000"},
		"fractional batch size":  {strings.Replace(minimal, "maxBatchSize: 8", "maxBatchSize: 8.5", 1), "decoding"},
		"zero alpha":             {strings.Replace(minimal, "alpha: 5", "alpha: 0", 1), "profile.alpha: must be a positive number"},
		"negative beta":          {strings.Replace(minimal, "beta: 0.1", "beta: -0.1", 1), "profile.beta: must be in [0"},
		"missing delta":          {strings.Replace(minimal, ", delta: 0.01", "", 1), "profile.delta: required"},
		"negative min":           {minimal + "  min: -1\n", "variants[0] (a).min: must be in [0"},
		"max below min":          {minimal + "  min: 3\n  max: 2\n", "variants[0] (a).max: 2 is below min 3"},
		"accelerator count zero": {minimal + "  acceleratorCount: 0\n", "acceleratorCount: must be in [1, 1024]"},
		"bad window":             {minimal + "policy: {stabilizationWindow: soon}\n", "policy.stabilizationWindow"},
		"negative drain time":    {minimal + "policy: {backlogDrainTime: -1m}\n", "policy.backlogDrainTime: must be a non-negative duration"},
		"negative waiting":       {strings.Replace(minimal, "outputTokens: 20", "outputTokens: 20, waiting: -5", 1), "load.waiting: must be in [0"},
		"threshold above one":    {minimal + "policy: {costSavingThreshold: 2}\n", "policy.costSavingThreshold: must be in [0, 1]"},
		"overflowing profile":    {strings.Replace(minimal, "alpha: 5", "alpha: 1e300", 1), ""},
		"string for a number":    {strings.Replace(minimal, "cost: 10", "cost: ten", 1), "decoding"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, err := parseInput([]byte(tc.src), now)
			if tc.wantErr == "" {
				// Valid for the parser; the allocator reports the variant.
				if err != nil {
					t.Fatalf("error %v", err)
				}
				r, err := allocator.Plan(p.Input, nil)
				if err != nil || !errors.Is(r.Variants[0].Err, allocator.ErrInvalidInput) {
					t.Fatalf("plan error %v, variant error %v", err, r.Variants[0].Err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

// Every problem is reported at once, not only the first.
func TestParseInputReportsAllProblems(t *testing.T) {
	src := strings.NewReplacer("cost: 10", "cost: -1", "alpha: 5", "alpha: -5", "rate: 10", "rate: -2").Replace(minimal)
	_, err := parseInput([]byte(src), now)
	for _, want := range []string{"load.rate", "cost", "profile.alpha"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

// FuzzParseInput: any bytes either fail to parse or give an input the
// allocator plans within every bound, with finite numbers.
func FuzzParseInput(f *testing.F) {
	f.Add([]byte(minimal))
	for _, name := range []string{"three-variants.yaml", "infeasible-slo.yaml"} {
		data, err := os.ReadFile("../../examples/planner/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("{}"))
	f.Add([]byte("slo: {ttft: 1e308, itl: 1e-308}\nload: {rate: 1e12, inputTokens: 0, outputTokens: 1}\nvariants: [{name: x, cost: 0, profile: {maxBatchSize: 4096, alpha: 1e-300, beta: 0, gamma: 0, delta: 0}, max: 0}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parseInput(data, now)
		if err != nil {
			return
		}
		r, err := allocator.Plan(p.Input, nil)
		if err != nil {
			t.Fatalf("parsed input refused by the allocator: %v", err)
		}
		if len(r.Variants) != len(p.Input.Variants) || len(p.Accelerators) != len(r.Variants) {
			t.Fatalf("%d decisions, %d variants, %d accelerators", len(r.Variants), len(p.Input.Variants), len(p.Accelerators))
		}
		for i, d := range r.Variants {
			v := p.Input.Variants[i]
			if d.Replicas < v.Min || (v.Max >= 0 && d.Replicas > v.Max) {
				t.Fatalf("%s: %d replicas outside [%d, %d]", v.Name, d.Replicas, v.Min, v.Max)
			}
			for _, x := range []float64{d.Capacity, d.LoadShare, d.TTFT, d.ITL, d.Cost, d.Utilisation} {
				if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
					t.Fatalf("%s: bad number in %+v", v.Name, d)
				}
			}
		}
	})
}
