package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/llm-d/variant-autoscaler/estimator"
)

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
	// guidellm are the names guidellm's CSV export gives the mean over a
	// run's successful requests (in ms for latencies): one header row up
	// to v0.3, three from v0.4 (group, field, statistic; joined with
	// spaces). Its concurrency is the measured mean.
	guidellm []string
}

// completedColumn counts a run's successful requests (for the totals).
const completedColumn = "completed"

var fitColumns = []column{
	{what: "concurrency", names: []string{"concurrency", "max_concurrency", "batch_size"}, required: true,
		guidellm: []string{"successful request concurrency mean", "server throughput successful concurrency mean"}},
	{what: "input tokens", names: []string{"input_tokens", "prompt_tokens", "mean_input_tokens"}, required: true, total: "total_input_tokens",
		guidellm: []string{"successful prompt token count mean", "token metrics successful input tokens mean"}},
	{what: "output tokens", names: []string{"output_tokens", "mean_output_tokens"}, required: true, total: "total_output_tokens",
		guidellm: []string{"successful output token count mean", "token metrics successful output tokens mean"}},
	{what: "TTFT", names: []string{"ttft_ms", "mean_ttft_ms", "ttft_s", "mean_ttft_s"}, toMs: []float64{1, 1, 1000, 1000}, required: true,
		guidellm: []string{"successful time to first token ms mean", "time to first token successful ms mean"}},
	{what: "ITL", names: []string{"itl_ms", "mean_itl_ms", "tpot_ms", "mean_tpot_ms", "itl_s", "mean_itl_s"}, toMs: []float64{1, 1, 1, 1, 1000, 1000}, required: true,
		guidellm: []string{"successful inter token latency ms mean", "inter token latency successful ms mean"}},
}

// maxHeaderRows bounds a header of several rows (guidellm's has three).
const maxHeaderRows = 3

// record is a CSV row and the line it starts on.
type record struct {
	fields []string
	line   int
}

func readRecords(cr *csv.Reader) ([]record, error) {
	var recs []record
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		recs = append(recs, record{fields: fields, line: line})
	}
}

// splitHeader returns the column names, lower case, and the rows after the
// header. The header is one row, or, while its names repeat, up to
// maxHeaderRows rows without a number in them, each column named by its
// cells joined with spaces.
func splitHeader(recs []record) ([]string, []record, error) {
	if len(recs) == 0 {
		return nil, nil, errors.New("empty file: expected a header row and measurements")
	}
	names := make([]string, len(recs[0].fields))
	for i, f := range recs[0].fields {
		names[i] = strings.ToLower(strings.TrimSpace(f))
	}
	rows := 1
	for ; repeated(names) != "" && rows < min(len(recs), maxHeaderRows) && !hasNumber(recs[rows].fields); rows++ {
		for i, f := range recs[rows].fields {
			names[i] = strings.TrimSpace(names[i] + " " + strings.ToLower(strings.TrimSpace(f)))
		}
	}
	if name := repeated(names); name != "" {
		return nil, nil, fmt.Errorf("header: column %q appears twice", name)
	}
	return names, recs[rows:], nil
}

// repeated returns a name that appears twice in names ("": none).
func repeated(names []string) string {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if seen[n] {
			return n
		}
		seen[n] = true
	}
	return ""
}

func hasNumber(fields []string) bool {
	for _, f := range fields {
		if _, err := strconv.ParseFloat(strings.TrimSpace(f), 64); err == nil {
			return true
		}
	}
	return false
}

// readBenchCSV reads and validates the table, naming the line and column of
// any bad value.
func readBenchCSV(r io.Reader) ([]benchRow, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	recs, err := readRecords(cr)
	if err != nil {
		return nil, err
	}
	header, body, err := splitHeader(recs)
	if err != nil {
		return nil, err
	}
	idx := make(map[string]int, len(header))
	for i, h := range header {
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
		for _, name := range c.guidellm {
			if k, ok := idx[name]; ok && cols[i].col < 0 {
				cols[i] = picked{col: k, toMs: 1, name: name}
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
			return nil, fmt.Errorf("header: no %s column (one of %s; or guidellm's CSV export)", c.what, alts)
		}
	}
	needCount := false
	for _, p := range cols {
		needCount = needCount || p.perCount
	}
	var rows []benchRow
	var errs []error
	for _, rc := range body {
		rec, line := rc.fields, rc.line
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
		case row.concurrency <= 0:
			errs = append(errs, fmt.Errorf("line %d, column %s: concurrency must be positive, got %v", line, cols[0].name, row.concurrency))
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
