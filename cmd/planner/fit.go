package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

const fitUsageText = `planner fit: fit a VariantAutoscaling profile to benchmark measurements.

Usage:
  planner fit -f FILE [--max-batch-size N] [-o yaml|json]

Flags:
%s
Input: a CSV table with a header row, one row per benchmark run at a fixed
concurrency (closed loop), as guidellm or vLLM's benchmark scripts report
them. Lines starting with '#' are comments. Columns (names are
case-insensitive; the first matching name is used; other columns are
ignored):

  concurrency     concurrency | max_concurrency | batch_size, or
                  request_throughput * mean_e2el_ms (Little's law)  (required)
  input tokens    input_tokens | prompt_tokens | mean_input_tokens, or
                  total_input_tokens / completed                    (required)
  output tokens   output_tokens | mean_output_tokens, or
                  total_output_tokens / completed                   (required, >= 1)
  TTFT            ttft_ms | mean_ttft_ms, or ttft_s | mean_ttft_s    (required)
  ITL             itl_ms | mean_itl_ms | tpot_ms | mean_tpot_ms, or itl_s | mean_itl_s  (required)

vLLM's benchmark result files (vllm bench serve --save-result) fit as they
are: JSON, one object per run (one per line with --append-result, or an
array), its keys as the columns. completed is its count of successful
requests, and a run without a concurrency limit (max_concurrency null)
takes its mean concurrency by Little's law. A CSV table of those fields
fits the same.

So does guidellm's report (guidellm benchmark --output-path
benchmarks.json, or .yaml; its "benchmarks", each a run) and its CSV
export (--outputs csv), in its one-row header (up to v0.3) or its
three-row one (group, field, statistic; v0.4 and later): the means over
successful requests are read, and its concurrency is the measured mean
(below one, a synchronous run's, a batch of one).

Each run is read with the serving physics of docs/learned-profiles.md: a
step takes gamma + delta*(prompt tokens admitted) when it admits requests,
plus alpha + beta*b when b requests are decoding; n = concurrency requests
are in the batch and the run's request rate is concurrency / (TTFT +
(output tokens - 1) * ITL). A run above --max-batch-size queues requests,
so its TTFT is not a prefill time: it is used for the ITL fit only (at n =
max batch size). Both fits minimise relative residuals.

Output: the profile block for the VariantAutoscaling spec, with the standard
error of each value and the fit error of each relation as comments.

Exit status: 0 fitted, 1 bad flags or input (the message names the row and
column).
`

// runFit is `planner fit`.
func runFit(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("planner fit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "benchmark `file`: CSV, vLLM's JSON results or guidellm's JSON or YAML report (\"-\" for standard input)")
	maxBatch := fs.Int("max-batch-size", 256, "the server's maximum batch size (vLLM --max-num-seqs), 1..4096")
	format := fs.String("o", "yaml", "output `format`: yaml or json")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var flags stringWriter
			fs.SetOutput(&flags)
			fs.PrintDefaults()
			fmt.Fprintf(stdout, fitUsageText, flags)
			return exitOK
		}
		fmt.Fprintln(stderr, "planner fit: see planner fit -h for the usage")
		return exitInputError
	}
	if *file == "" || fs.NArg() > 0 || (*format != "yaml" && *format != "json") || *maxBatch < 1 || *maxBatch > 4096 {
		fmt.Fprintln(stderr, "planner fit: need -f FILE, no other arguments, --max-batch-size in 1..4096 and -o yaml or json (see planner fit -h)")
		return exitInputError
	}
	r := stdin
	if *file != "-" {
		f, err := os.Open(*file)
		if err != nil {
			fmt.Fprintf(stderr, "planner fit: %v\n", err)
			return exitInputError
		}
		defer func() { _ = f.Close() }()
		r = f
	}
	rows, err := readBench(r)
	if err != nil {
		fmt.Fprintf(stderr, "planner fit: %s: %v\n", *file, err)
		return exitInputError
	}
	obs := make([]estimator.Observation, 0, len(rows))
	for i := range rows {
		row := &rows[i]
		n := math.Min(row.concurrency, float64(*maxBatch))
		// Closed loop: by Little's law the run's request rate is its
		// concurrency over the time one request takes.
		rate := n * 1000 / (row.ttftMs + (row.out-1)*row.itlMs)
		// A measured mean below one (guidellm's synchronous run, with gaps
		// between requests) still decodes one request at a time.
		o := estimator.Observation{Batch: math.Max(1, n), ITL: row.itlMs, InputTokens: row.in, Requests: 1, RequestRate: rate}
		if row.concurrency <= float64(*maxBatch) {
			o.Prefill = row.ttftMs
		} else {
			row.prefillExcluded = true
		}
		obs = append(obs, o)
	}
	res, err := estimator.Fit(obs)
	if err != nil {
		fmt.Fprintf(stderr, "planner fit: %s: %v\n", *file, err)
		return exitInputError
	}
	if *format == "json" {
		err = writeFitJSON(stdout, *maxBatch, res)
	} else {
		err = writeFitYAML(stdout, *file, *maxBatch, rows, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "planner fit: %v\n", err)
		return exitInputError
	}
	return exitOK
}

// sig renders v with four significant digits as an API decimal string.
func sig(v float64) string {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	places := max(0, min(12, 3-int(math.Floor(math.Log10(v)))))
	return llmdv1alpha1.FormatDecimal(v, places)
}

func plusMinus(se float64) string {
	if math.IsNaN(se) {
		return "± unknown (too few measurements)"
	}
	return "± " + strconv.FormatFloat(se, 'g', 2, 64)
}

func writeFitYAML(w io.Writer, file string, maxBatch int, rows []benchRow, res estimator.FitResult) error {
	lo, hi, excluded := math.Inf(1), 0.0, 0
	for _, r := range rows {
		lo, hi = math.Min(lo, r.concurrency), math.Max(hi, r.concurrency)
		if r.prefillExcluded {
			excluded++
		}
	}
	fmt.Fprintf(w, "# Fitted from %d measurements in %s (concurrency %g to %g).\n", len(rows), file, lo, hi)
	if excluded > 0 {
		fmt.Fprintf(w, "# %d run(s) above the max batch size of %d queue requests: used for ITL only.\n", excluded, maxBatch)
	}
	rel := func(name, formula string, f estimator.LineFit) {
		fmt.Fprintf(w, "# %-7s %-26s RMSE %.3g ms, worst %.1f%% of the measured value, %d points%s\n",
			name, formula, f.RMSE, 100*f.MaxRelError, f.Points, map[bool]string{true: " (a parameter held at its bound)"}[f.Constrained])
	}
	rel("decode", "alpha + beta*n", res.Decode)
	rel("prefill", "gamma + delta*in*k", res.Prefill)
	p, se := res.Params, res.StdErr
	_, err := fmt.Fprintf(w, `profile:
  maxBatchSize: %d
  decode:
    alpha: %q  # %s ms
    beta: %q  # %s ms
  prefill:
    gamma: %q  # %s ms
    delta: %q  # %s ms
`, maxBatch, sig(max(p.Alpha, estimator.MinAlpha)), plusMinus(se.Alpha), sig(p.Beta), plusMinus(se.Beta),
		sig(p.Gamma), plusMinus(se.Gamma), sig(p.Delta), plusMinus(se.Delta))
	return err
}

type jsonFit struct {
	Profile        llmdv1alpha1.Profile `json:"profile"`
	StandardErrors map[string]*float64  `json:"standardErrors"`
	Decode         jsonLineFit          `json:"decode"`
	Prefill        jsonLineFit          `json:"prefill"`
}

type jsonLineFit struct {
	RMSEMs      float64 `json:"rmseMs"`
	MaxRelError float64 `json:"maxRelativeError"`
	Points      int     `json:"points"`
	Constrained bool    `json:"constrained,omitempty"`
}

func writeFitJSON(w io.Writer, maxBatch int, res estimator.FitResult) error {
	p, se := res.Params, res.StdErr
	num := func(v float64) *float64 {
		if math.IsNaN(v) {
			return nil // JSON has no NaN: unknown is null
		}
		return &v
	}
	line := func(f estimator.LineFit) jsonLineFit {
		return jsonLineFit{RMSEMs: f.RMSE, MaxRelError: f.MaxRelError, Points: f.Points, Constrained: f.Constrained}
	}
	out := jsonFit{
		Profile: llmdv1alpha1.Profile{
			MaxBatchSize: int32(maxBatch), // 1..4096, checked
			Decode:       llmdv1alpha1.DecodeParameters{Alpha: sig(max(p.Alpha, estimator.MinAlpha)), Beta: sig(p.Beta)},
			Prefill:      llmdv1alpha1.PrefillParameters{Gamma: sig(p.Gamma), Delta: sig(p.Delta)},
		},
		StandardErrors: map[string]*float64{"alpha": num(se.Alpha), "beta": num(se.Beta), "gamma": num(se.Gamma), "delta": num(se.Delta)},
		Decode:         line(res.Decode),
		Prefill:        line(res.Prefill),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
