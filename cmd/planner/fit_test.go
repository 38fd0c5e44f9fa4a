package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// The example benchmark is synthetic, from a server with this profile.
var exampleTruth = [4]float64{8, 0.3, 15, 0.02}

// TestFitExample: the committed example CSV gives a profile block that
// parses as the API's Profile, within 10% of the truth behind the data.
func TestFitExample(t *testing.T) {
	r := runPlanner(t, "", "fit", "-f", "../../examples/planner/benchmark.csv")
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var block struct {
		Profile llmdv1alpha1.Profile `json:"profile"`
	}
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &block); err != nil {
		t.Fatalf("output is not a profile block: %v\n%s", err, r.stdout)
	}
	p, err := block.Profile.Parse()
	if err != nil {
		t.Fatalf("the printed profile does not parse: %v\n%s", err, r.stdout)
	}
	got := [4]float64{p.Alpha, p.Beta, p.Gamma, p.Delta}
	for i, want := range exampleTruth {
		if math.Abs(got[i]-want)/want > 0.1 {
			t.Errorf("parameter %d = %v, want within 10%% of %v", i, got[i], want)
		}
	}
	if p.MaxBatchSize != 256 {
		t.Errorf("maxBatchSize %d", p.MaxBatchSize)
	}
	for _, want := range []string{"Fitted from 18 measurements", "2 run(s) above the max batch size of 256", "alpha + beta*n", "RMSE", "# ± "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}

	j := runPlanner(t, "", "fit", "-f", "../../examples/planner/benchmark.csv", "-o", "json", "--max-batch-size", "512")
	var rep jsonFit
	if err := json.Unmarshal([]byte(j.stdout), &rep); err != nil || j.code != exitOK {
		t.Fatalf("json: exit %d, %v:\n%s", j.code, err, j.stdout)
	}
	if rep.Profile.MaxBatchSize != 512 || rep.Decode.Points != 18 || rep.Prefill.Points != 18 {
		t.Errorf("with max batch 512 every run is a prefill measurement: %+v", rep)
	}
	// The queued runs now pollute the prefill fit: its error must show it.
	if rep.Prefill.MaxRelError < 0.2 {
		t.Errorf("prefill max relative error %v with queued runs included, want it visible (> 20%%)", rep.Prefill.MaxRelError)
	}
	for name, se := range rep.StandardErrors {
		if se == nil || !(*se > 0) {
			t.Errorf("standard error of %s: %v", name, se)
		}
	}
}

// TestFitStdinAndUnits: the same runs in seconds (other column names, from
// standard input), in milliseconds, and as the fields of vLLM's benchmark
// result files (token totals over completed requests) give the same profile.
func TestFitStdinAndUnits(t *testing.T) {
	ms := "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n" +
		"1,1000,200,35,8.3\n" +
		"10,1000,200,215,11\n" +
		"50,1000,200,1015,23\n"
	s := "max_concurrency,prompt_tokens,mean_output_tokens,ttft_s,itl_s\n" +
		"1,1000,200,0.035,0.0083\n" +
		"10,1000,200,0.215,0.011\n" +
		"50,1000,200,1.015,0.023\n"
	vllm := "max_concurrency,completed,total_input_tokens,total_output_tokens,mean_ttft_ms,mean_itl_ms\n" +
		"1,40,40000,8000,35,8.3\n" +
		"10,200,200000,40000,215,11\n" +
		"50,1000,1000000,200000,1015,23\n"
	var reps [3]jsonFit
	for i, in := range []string{ms, s, vllm} {
		r := runPlanner(t, in, "fit", "-f", "-", "-o", "json")
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &reps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if reps[0].Profile != reps[1].Profile || reps[0].Profile != reps[2].Profile {
		t.Errorf("ms %+v, s %+v, vLLM totals %+v", reps[0].Profile, reps[1].Profile, reps[2].Profile)
	}
	if _, err := reps[0].Profile.Parse(); err != nil {
		t.Errorf("profile does not parse: %v", err)
	}
}

func TestFitBadInput(t *testing.T) {
	cases := map[string]struct {
		stdin   string
		args    []string
		wantErr string
	}{
		"no file flag":          {args: []string{"fit"}, wantErr: "need -f FILE"},
		"bad max batch":         {args: []string{"fit", "-f", "-", "--max-batch-size", "0"}, wantErr: "--max-batch-size in 1..4096"},
		"missing file":          {args: []string{"fit", "-f", "/nonexistent.csv"}, wantErr: "no such file"},
		"empty":                 {stdin: "", wantErr: "empty file"},
		"header only":           {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n", wantErr: "no measurements"},
		"no ITL column":         {stdin: "concurrency,input_tokens,output_tokens,ttft_ms\n1,2,3,4\n", wantErr: "no ITL column"},
		"no output column":      {stdin: "concurrency,input_tokens,ttft_ms,itl_ms\n1,2,3,4\n", wantErr: "no output tokens column"},
		"totals, no count":      {stdin: "concurrency,total_input_tokens,output_tokens,ttft_ms,itl_ms\n1,2,3,4,5\n", wantErr: "no input tokens column (one of input_tokens, prompt_tokens, mean_input_tokens, or total_input_tokens with completed; or guidellm's report or CSV export)"},
		"zero completed":        {stdin: "concurrency,completed,total_input_tokens,output_tokens,ttft_ms,itl_ms\n1,0,512,100,20,8\n", wantErr: `line 2, column completed: "0" is not a count of at least 1`},
		"duplicate column":      {stdin: "concurrency,concurrency,input_tokens,ttft_ms,itl_ms\n", wantErr: "appears twice"},
		"not a number":          {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n1,512,100,abc,8\n", wantErr: `line 2, column ttft_ms: "abc"`},
		"negative":              {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n1,512,100,20,-8\n", wantErr: "line 2, column itl_ms"},
		"NaN":                   {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n1,512,100,NaN,8\n", wantErr: "line 2, column ttft_ms"},
		"zero concurrency":      {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n0,512,100,20,8\n", wantErr: "concurrency must be positive"},
		"zero output tokens":    {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n1,512,0,20,8\n", wantErr: "output tokens must be at least 1"},
		"one concurrency":       {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n4,512,100,20,8\n4,512,100,21,8.1\n", wantErr: "two or more distinct batch sizes"},
		"ragged row":            {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n4,512,20\n", wantErr: "wrong number of fields"},
		"every error is listed": {stdin: "concurrency,input_tokens,output_tokens,ttft_ms,itl_ms\n1,x,100,20,8\n2,512,100,y,8\n", wantErr: "line 3, column ttft_ms"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := tc.args
			if args == nil {
				args = []string{"fit", "-f", "-"}
			}
			r := runPlanner(t, tc.stdin, args...)
			if r.code != exitInputError || !strings.Contains(r.stderr, tc.wantErr) || r.stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and %q", r.code, r.stdout, r.stderr, tc.wantErr)
			}
		})
	}
	if r := runPlanner(t, "", "fit", "-h"); r.code != exitOK || !strings.Contains(r.stdout, "planner fit: fit a VariantAutoscaling profile") {
		t.Errorf("help: %d %q", r.code, r.stdout)
	}
}
