package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/estimator"
)

const fitUsageText = `planner fit: fit a VariantAutoscaling profile to benchmark measurements.

Usage:
  planner fit -f FILE.csv [--max-batch-size N] [-o yaml|json]

Flags:
%s
Input: a CSV table with a header row, one row per benchmark run at a fixed
concurrency (closed loop), as guidellm or vLLM's benchmark scripts report
them. Lines starting with '#' are comments. Columns (names are
case-insensitive; the first matching name is used; other columns are
ignored):

  concurrency     concurrency | max_concurrency | batch_size        (required)
  input tokens    input_tokens | prompt_tokens | mean_input_tokens, or
                  total_input_tokens / completed                    (required)
  output tokens   output_tokens | mean_output_tokens, or
                  total_output_tokens / completed                   (required, >= 1)
  TTFT            ttft_ms | mean_ttft_ms, or ttft_s | mean_ttft_s    (required)
  ITL             itl_ms | mean_itl_ms | tpot_ms | mean_tpot_ms, or itl_s | mean_itl_s  (required)

The totals are what vLLM's benchmark result files hold (completed is its
count of successful requests), so a table of their fields fits as it is.

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

// benchRow is one benchmark run.
type benchRow struct {
	line                 int
	concurrency, in, out float64
	ttftMs, itlMs        float64
	prefillExcluded      bool
}

// column aliases, in order of preference; the unit multiplies to ms.
type column struct {
	what     string
	names    []string
	toMs     []float64 // per name; nil for counts
	required bool
	// total names a column that holds the sum over the run's requests:
	// divided by the completed column, it stands for the missing mean.
	total string
}

// completedColumn counts a run's successful requests (for the totals).
const completedColumn = "completed"

var fitColumns = []column{
	{what: "concurrency", names: []string{"concurrency", "max_concurrency", "batch_size"}, required: true},
	{what: "input tokens", names: []string{"input_tokens", "prompt_tokens", "mean_input_tokens"}, required: true, total: "total_input_tokens"},
	{what: "output tokens", names: []string{"output_tokens", "mean_output_tokens"}, required: true, total: "total_output_tokens"},
	{what: "TTFT", names: []string{"ttft_ms", "mean_ttft_ms", "ttft_s", "mean_ttft_s"}, toMs: []float64{1, 1, 1000, 1000}, required: true},
	{what: "ITL", names: []string{"itl_ms", "mean_itl_ms", "tpot_ms", "mean_tpot_ms", "itl_s", "mean_itl_s"}, toMs: []float64{1, 1, 1, 1, 1000, 1000}, required: true},
}

// runFit is `planner fit`.
func runFit(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("planner fit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "benchmark CSV `file` (\"-\" for standard input)")
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
	rows, err := readBenchCSV(r)
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
		o := estimator.Observation{Batch: n, ITL: row.itlMs, InputTokens: row.in, Requests: 1, RequestRate: rate}
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

// readBenchCSV reads and validates the table, naming the line and column of
// any bad value.
func readBenchCSV(r io.Reader) ([]benchRow, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty file: expected a header row and measurements")
		}
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	idx := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := idx[h]; dup {
			return nil, fmt.Errorf("header: column %q appears twice", h)
		}
		idx[h] = i
	}
	type picked struct {
		col      int
		toMs     float64
		name     string
		perCount bool // a total: divided by the completed column
	}
	completed, hasCompleted := idx[completedColumn]
	cols := make([]picked, len(fitColumns))
	for i, c := range fitColumns {
		cols[i] = picked{col: -1}
		for j, name := range c.names {
			if k, ok := idx[name]; ok {
				cols[i] = picked{col: k, toMs: 1, name: name}
				if c.toMs != nil {
					cols[i].toMs = c.toMs[j]
				}
				break
			}
		}
		if k, ok := idx[c.total]; ok && c.total != "" && cols[i].col < 0 && hasCompleted {
			cols[i] = picked{col: k, toMs: 1, name: c.total, perCount: true}
		}
		if c.required && cols[i].col < 0 {
			alts := strings.Join(c.names, ", ")
			if c.total != "" {
				alts += ", or " + c.total + " with " + completedColumn
			}
			return nil, fmt.Errorf("header: no %s column (one of %s)", c.what, alts)
		}
	}
	needCount := false
	for _, p := range cols {
		needCount = needCount || p.perCount
	}
	var rows []benchRow
	var errs []error
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		row := benchRow{line: line}
		vals := make([]float64, len(cols))
		ok := true
		count := 1.0
		if needCount {
			raw := strings.TrimSpace(rec[completed])
			n, err := strconv.ParseFloat(raw, 64)
			if err != nil || !(n >= 1) || math.IsInf(n, 0) {
				errs = append(errs, fmt.Errorf("line %d, column %s: %q is not a count of at least 1 (the totals are divided by it)", line, completedColumn, raw))
				continue
			}
			count = n
		}
		for i, p := range cols {
			if p.col < 0 {
				continue
			}
			raw := strings.TrimSpace(rec[p.col])
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				errs = append(errs, fmt.Errorf("line %d, column %s: %q is not a non-negative number", line, p.name, raw))
				ok = false
				continue
			}
			vals[i] = v * p.toMs
			if p.perCount {
				vals[i] /= count
			}
		}
		if !ok {
			continue
		}
		row.concurrency, row.in, row.out, row.ttftMs, row.itlMs = vals[0], vals[1], vals[2], vals[3], vals[4]
		switch {
		case row.concurrency < 1:
			errs = append(errs, fmt.Errorf("line %d, column %s: concurrency must be at least 1, got %v", line, cols[0].name, row.concurrency))
		case row.out < 1:
			errs = append(errs, fmt.Errorf("line %d, column %s: output tokens must be at least 1, got %v", line, cols[2].name, row.out))
		case row.ttftMs <= 0 || row.itlMs <= 0:
			errs = append(errs, fmt.Errorf("line %d: TTFT and ITL must be positive, got %v ms and %v ms", line, row.ttftMs, row.itlMs))
		case row.concurrency > estimator.MaxBatch || row.in > estimator.MaxInputTokens || row.out > estimator.MaxInputTokens ||
			row.ttftMs > estimator.MaxLatencyMs || row.itlMs > estimator.MaxLatencyMs:
			errs = append(errs, fmt.Errorf("line %d: value beyond the accepted range (concurrency ≤ %g, input tokens ≤ %g, latencies ≤ %g ms)", line, estimator.MaxBatch, estimator.MaxInputTokens, estimator.MaxLatencyMs))
		default:
			rows = append(rows, row)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no measurements after the header")
	}
	return rows, nil
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
