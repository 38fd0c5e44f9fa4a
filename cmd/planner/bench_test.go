package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// fitJSON runs planner fit -o json on a file or, with file "-", on stdin.
func fitJSON(t *testing.T, file, stdin string) jsonFit {
	t.Helper()
	r := runPlanner(t, stdin, "fit", "-f", file, "-o", "json")
	if r.code != exitOK {
		t.Fatalf("%s: exit %d: %s", file, r.code, r.stderr)
	}
	var rep jsonFit
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return rep
}

// TestFitGuidellmExport: guidellm's CSV export fits as it is, in both its
// layouts, to the profile the same runs give as a plain table: from v0.4
// three header rows (the committed example, benchmark.csv's runs; its JSON
// report too), up to v0.3 one, each among columns the fit ignores (JSON with commas, lists of
// percentiles). A measured mean concurrency below one (a synchronous run)
// is read as a batch of one.
func TestFitGuidellmExport(t *testing.T) {
	want := fitJSON(t, "../../examples/planner/benchmark.csv", "")
	if got := fitJSON(t, "../../examples/planner/guidellm-benchmarks.csv", ""); !cmp.Equal(got.Profile, want.Profile) {
		t.Errorf("guidellm v0.4 layout: %s", cmp.Diff(want.Profile, got.Profile))
	}
	if got := fitJSON(t, "../../examples/planner/guidellm-benchmarks.json", ""); !cmp.Equal(got.Profile, want.Profile) {
		t.Errorf("guidellm's JSON report: %s", cmp.Diff(want.Profile, got.Profile))
	}

	plain := "concurrency,prompt_tokens,output_tokens,ttft_ms,itl_ms\n" +
		"0.97,1000,200,35,8.3\n" +
		"10,1000,200,215,11\n" +
		"50,1000,200,1015,23\n"
	v03 := `Type,Run Id,Name,Successful Requests,Successful Request concurrency mean,Successful Request concurrency median,` +
		`Successful Prompt token count mean,Successful Output token count mean,Successful Time to first token ms mean,` +
		`"Successful Time to first token ms [min, 0.1, 1, 5, 10, 25, 75, 90, 95, 99, max]",Successful Inter token latency ms mean,` +
		`Successful Inter token latency ms median,Successful Time per output token ms mean,Profile` + "\n" +
		`generative_benchmark,r1,synchronous,40,0.97,1,1000,200,35,"[30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40]",8.3,9.9,8.4,"{""type_"": ""sweep""}"` + "\n" +
		`generative_benchmark,r1,concurrent@10,200,10,10,1000,200,215,"[200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210]",11,12.5,12,"{""type_"": ""sweep""}"` + "\n" +
		`generative_benchmark,r1,concurrent@50,1000,50,50,1000,200,1015,"[1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010]",23,30,24,"{""type_"": ""sweep""}"` + "\n"
	want = fitJSON(t, "-", plain)
	if got := fitJSON(t, "-", v03); !cmp.Equal(got.Profile, want.Profile) {
		t.Errorf("guidellm v0.3 layout: %s", cmp.Diff(want.Profile, got.Profile))
	}
	if _, err := want.Profile.Parse(); err != nil {
		t.Errorf("profile does not parse: %v", err)
	}
}

func TestSplitHeader(t *testing.T) {
	rec := func(line int, fields ...string) record { return record{fields: fields, line: line} }
	cases := map[string]struct {
		recs      []record
		wantNames []string
		wantBody  int
		wantErr   string
	}{
		"one row": {
			recs:      []record{rec(1, "Concurrency", " ITL_ms"), rec(2, "1", "8")},
			wantNames: []string{"concurrency", "itl_ms"}, wantBody: 1,
		},
		"three rows joined": {
			recs: []record{rec(1, "TTFT", "TTFT", "Run"), rec(2, "Successful ms", "Successful ms", "ID"), rec(3, "Mean", "Median", ""),
				rec(4, "35", "34", "x")},
			wantNames: []string{"ttft successful ms mean", "ttft successful ms median", "run id"}, wantBody: 1,
		},
		"a repeated name over a data row": {
			recs:    []record{rec(1, "concurrency", "concurrency"), rec(2, "1", "2")},
			wantErr: `header: column "concurrency" appears twice`,
		},
		"still repeated after three rows": {
			recs:    []record{rec(1, "a", "a"), rec(2, "b", "b"), rec(3, "c", "c"), rec(4, "d", "d")},
			wantErr: `header: column "a b c" appears twice`,
		},
		"empty": {wantErr: "empty file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			names, body, err := splitHeader(c.recs)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c.wantNames, names); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			if len(body) != c.wantBody {
				t.Errorf("%d rows after the header, want %d", len(body), c.wantBody)
			}
		})
	}
}

// vllmResult is a run as vLLM's benchmark writes it (--save-result), with
// the per-request lists the fit ignores; concurrency "null" is a run
// without a concurrency limit.
func vllmResult(concurrency string, completed, in, out int, ttft, itl, rate, e2el float64) string {
	return fmt.Sprintf(`{"backend": "vllm", "model_id": "m", "max_concurrency": %s, "request_rate": "inf", "completed": %d, "total_input_tokens": %d, "total_output_tokens": %d, "request_throughput": %g, "mean_ttft_ms": %g, "median_ttft_ms": 1, "mean_itl_ms": %g, "mean_tpot_ms": 99, "mean_e2el_ms": %g, "ttfts": [0.03, 0.04], "itls": [[0.008, 0.009]], "errors": ["", ""]}`,
		concurrency, completed, in, out, rate, ttft, itl, e2el)
}

// TestFitVLLMResultFiles: vLLM's JSON result files fit as they are, one
// object per line (--append-result) or an array, to the profile the same
// runs give as a table; a run without a concurrency limit takes its mean
// concurrency by Little's law (request rate times mean latency); a broken
// file names its line.
func TestFitVLLMResultFiles(t *testing.T) {
	table := "concurrency,completed,total_input_tokens,total_output_tokens,mean_ttft_ms,mean_itl_ms\n" +
		"1,40,40000,8000,35,8.3\n" +
		"10,200,200000,40000,215,11\n" +
		"50,1000,1000000,200000,1015,23\n"
	want := fitJSON(t, "-", table)
	runs := []string{
		vllmResult("1", 40, 40000, 8000, 35, 8.3, 0.5, 2000),
		vllmResult("null", 200, 200000, 40000, 215, 11, 2.5, 4000), // 2.5 req/s × 4 s = 10 in service
		vllmResult("50", 1000, 1000000, 200000, 1015, 23, 9, 5500),
	}
	for name, in := range map[string]string{
		"lines": strings.Join(runs, "\n") + "\n",
		"array": "[" + strings.Join(runs, ",\n") + "]",
	} {
		if got := fitJSON(t, "-", in); !cmp.Equal(got.Profile, want.Profile) {
			t.Errorf("%s: %s", name, cmp.Diff(want.Profile, got.Profile))
		}
	}

	for name, c := range map[string]struct{ in, wantErr string }{
		"broken":              {in: runs[0] + "\n" + `{"max_concurrency": 2,` + "\n", wantErr: "line 2"},
		"not an object":       {in: runs[0] + "\n" + "[1, 2]\n", wantErr: "line 2: a run must be a JSON object"},
		"no concurrency":      {in: `{"completed": 1, "total_input_tokens": 5, "total_output_tokens": 5, "mean_ttft_ms": 1, "mean_itl_ms": 1}`, wantErr: "no concurrency column (one of concurrency, max_concurrency, batch_size, or request_throughput with mean_e2el_ms"},
		"null, no throughput": {in: `{"max_concurrency": null, "completed": 1, "total_input_tokens": 5, "total_output_tokens": 5, "mean_ttft_ms": 1, "mean_itl_ms": 1}`, wantErr: "line 1, column max_concurrency: no value (a run without a concurrency limit needs request_throughput and mean_e2el_ms"},
	} {
		r := runPlanner(t, c.in, "fit", "-f", "-")
		if r.code != exitInputError || !strings.Contains(r.stderr, c.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", name, r.code, r.stderr, exitInputError, c.wantErr)
		}
	}
}

// guidellmBenchmark is a benchmark as guidellm's JSON report holds it:
// each metric a summary per request status, among metrics the fit
// ignores (counts, per-modality summaries) and the per-request lists.
func guidellmBenchmark(concurrency float64, in, out int, ttft, itl float64) string {
	summary := func(mean float64) string {
		return fmt.Sprintf(`{"successful": {"mean": %g, "median": %g, "percentiles": {"p50": %g}}, "errored": {"mean": 0, "median": 0}, "total": {"mean": %g}}`,
			mean, 1.5*mean, 1.5*mean, 0.9*mean)
	}
	return fmt.Sprintf(`{"type_": "generative_benchmark", "metrics": {"request_totals": {"successful": 40, "errored": 0, "total": 40}, `+
		`"request_concurrency": %s, "prompt_token_count": %s, "output_token_count": %s, "time_to_first_token_ms": %s, "inter_token_latency_ms": %s, `+
		`"time_per_output_token_ms": %s, "text": {"tokens": {"successful": 5}}}, `+
		`"requests": {"successful": [{"metrics": {}, "time_to_first_token_ms": 1}], "errored": []}}`,
		summary(concurrency), summary(float64(in)), summary(float64(out)), summary(ttft), summary(itl), summary(99))
}

// TestFitGuidellmReport: guidellm's JSON report (--output-path
// benchmarks.json) fits to the profile its runs give as a table, reading
// the means over successful requests and nothing else (a mutation that
// reads the median, the total or the time per output token fails it); a
// benchmark that cannot be read names the line it starts on.
func TestFitGuidellmReport(t *testing.T) {
	want := fitJSON(t, "-", "concurrency,prompt_tokens,output_tokens,ttft_ms,itl_ms\n"+
		"0.97,1000,200,35,8.3\n"+
		"10,1000,200,215,11\n"+
		"50,1000,200,1015,23\n")
	benchmarks := []string{
		guidellmBenchmark(0.97, 1000, 200, 35, 8.3),
		guidellmBenchmark(10, 1000, 200, 215, 11),
		guidellmBenchmark(50, 1000, 200, 1015, 23),
	}
	report := func(bs ...string) string {
		return "{\n\"metadata\": {\"guidellm_version\": \"0.4.0\"},\n\"benchmarks\": [\n" + strings.Join(bs, ",\n") + "\n],\n\"args\": {\"rate\": [1, 10, 50]}\n}\n"
	}
	if got := fitJSON(t, "-", report(benchmarks...)); !cmp.Equal(got.Profile, want.Profile) {
		t.Errorf("%s", cmp.Diff(want.Profile, got.Profile))
	}

	for name, c := range map[string]struct{ in, wantErr string }{
		"a benchmark without metrics": {in: report(benchmarks[0], `{"type_": "generative_benchmark"}`), wantErr: `line 5: guidellm benchmark 2: no "metrics"`},
		"a benchmark not an object":   {in: report(benchmarks[0], benchmarks[1], "[]"), wantErr: "line 6: guidellm benchmark 3: not an object"},
		"no ITL in any benchmark": {in: report(strings.ReplaceAll(benchmarks[0], "inter_token_latency_ms", "x")),
			wantErr: "header: no ITL column"},
	} {
		r := runPlanner(t, c.in, "fit", "-f", "-")
		if r.code != exitInputError || !strings.Contains(r.stderr, c.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", name, r.code, r.stderr, exitInputError, c.wantErr)
		}
	}
}

// TestFitGuidellmYAMLReport: guidellm's report written as YAML fits as
// the JSON one does, and a benchmark that cannot be read names its line;
// a CSV table is not taken for YAML.
func TestFitGuidellmYAMLReport(t *testing.T) {
	report := "{\"benchmarks\": [" + strings.Join([]string{
		guidellmBenchmark(0.97, 1000, 200, 35, 8.3),
		guidellmBenchmark(10, 1000, 200, 215, 11),
		guidellmBenchmark(50, 1000, 200, 1015, 23),
	}, ",") + "]}"
	asYAML, err := yaml.JSONToYAML([]byte(report))
	if err != nil {
		t.Fatal(err)
	}
	want := fitJSON(t, "-", report)
	if got := fitJSON(t, "-", "# guidellm benchmark --output-path benchmarks.yaml\n"+string(asYAML)); !cmp.Equal(got.Profile, want.Profile) {
		t.Errorf("%s", cmp.Diff(want.Profile, got.Profile))
	}

	// YAML holds JSON: the first benchmark on one line, the second below it.
	broken := "metadata:\n  guidellm_version: 0.4.0\nbenchmarks:\n- " + guidellmBenchmark(1, 1000, 200, 35, 8.3) + "\n- {\"type_\": \"generative_benchmark\"}\n"
	r := runPlanner(t, broken, "fit", "-f", "-")
	if want := `line 5: guidellm benchmark 2: no "metrics"`; r.code != exitInputError || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, exitInputError, want)
	}

	if m := yamlMapping.MatchString("concurrency,prompt_tokens,output_tokens,ttft_ms,itl_ms\n1,2,3,4,5\n"); m {
		t.Error("a CSV header taken for a YAML mapping")
	}
}
