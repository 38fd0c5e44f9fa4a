package main

import (
	"bytes"
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

// record is a row of the table and the line it starts on.
type record struct {
	fields []string
	line   int
}

// maxBenchBytes bounds the input (vLLM's result files hold every request).
const maxBenchBytes = 256 << 20

// readBench reads and validates a benchmark table, CSV or vLLM's JSON
// result files, naming the line and column of any bad value.
func readBench(r io.Reader) ([]benchRow, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxBenchBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxBenchBytes {
		return nil, fmt.Errorf("larger than %d MiB", maxBenchBytes>>20)
	}
	var recs []record
	if isJSON(data) {
		recs, err = jsonRecords(data)
	} else if yrecs, ok, yerr := guidellmYAML(data); ok {
		recs, err = yrecs, yerr
	} else {
		recs, err = csvRecords(data)
	}
	if err != nil {
		return nil, err
	}
	header, body, err := splitHeader(recs)
	if err != nil {
		return nil, err
	}
	l, err := newLayout(header)
	if err != nil {
		return nil, err
	}
	var rows []benchRow
	var errs []error
	for _, rc := range body {
		row, err := l.parse(rc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rows = append(rows, row)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errors.New("no measurements after the header")
	}
	return rows, nil
}

func csvRecords(data []byte) ([]record, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
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

// picked is the column a value is read from.
type picked struct {
	col      int // -1: none
	toMs     float64
	name     string
	perCount bool // a total: divided by the completed column
}

// layout says where each value of a row is.
type layout struct {
	cols      []picked // as fitColumns
	completed int      // the completed column, for the totals (-1: none)
	// rate and latency are vLLM's request_throughput and mean_e2el_ms
	// columns (-1: none): a run without a concurrency (max_concurrency
	// null, an open loop) has, by Little's law, their product.
	rate, latency int
}

const (
	rateColumn    = "request_throughput"
	latencyColumn = "mean_e2el_ms"
)

func newLayout(header []string) (layout, error) {
	idx := make(map[string]int, len(header))
	for i, h := range header {
		idx[h] = i
	}
	at := func(name string) int {
		if k, ok := idx[name]; ok && name != "" {
			return k
		}
		return -1
	}
	l := layout{cols: make([]picked, len(fitColumns)), completed: at(completedColumn), rate: at(rateColumn), latency: at(latencyColumn)}
	for i, c := range fitColumns {
		l.cols[i] = picked{col: -1}
		for j, name := range c.names {
			if k := at(name); k >= 0 {
				l.cols[i] = picked{col: k, toMs: 1, name: name}
				if c.toMs != nil {
					l.cols[i].toMs = c.toMs[j]
				}
				break
			}
		}
		for _, name := range c.guidellm {
			if k := at(name); k >= 0 && l.cols[i].col < 0 {
				l.cols[i] = picked{col: k, toMs: 1, name: name}
			}
		}
		if k := at(c.total); k >= 0 && l.cols[i].col < 0 && l.completed >= 0 {
			l.cols[i] = picked{col: k, toMs: 1, name: c.total, perCount: true}
		}
		byLittle := i == 0 && l.littles()
		if c.required && l.cols[i].col < 0 && !byLittle {
			alts := strings.Join(c.names, ", ")
			if c.total != "" {
				alts += ", or " + c.total + " with " + completedColumn
			}
			if i == 0 {
				alts += ", or " + rateColumn + " with " + latencyColumn
			}
			return layout{}, fmt.Errorf("header: no %s column (one of %s; or guidellm's report or CSV export)", c.what, alts)
		}
	}
	return l, nil
}

// littles reports whether a missing concurrency can be had by Little's law.
func (l layout) littles() bool { return l.rate >= 0 && l.latency >= 0 }

// cellNumber parses the non-negative number in column col of rec.
func cellNumber(rec record, col int, name string) (float64, error) {
	raw := strings.TrimSpace(rec.fields[col])
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0, fmt.Errorf("line %d, column %s: %q is not a non-negative number", rec.line, name, raw)
	}
	return v, nil
}

// parse reads and checks one run.
func (l layout) parse(rec record) (benchRow, error) {
	count := 1.0
	if l.cols[1].perCount || l.cols[2].perCount {
		raw := strings.TrimSpace(rec.fields[l.completed])
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil || !(n >= 1) || math.IsInf(n, 0) {
			return benchRow{}, fmt.Errorf("line %d, column %s: %q is not a count of at least 1 (the totals are divided by it)", rec.line, completedColumn, raw)
		}
		count = n
	}
	vals := make([]float64, len(l.cols))
	var errs []error
	for i, p := range l.cols {
		if i == 0 && l.littles() && (p.col < 0 || strings.TrimSpace(rec.fields[p.col]) == "") {
			rate, err1 := cellNumber(rec, l.rate, rateColumn)
			latency, err2 := cellNumber(rec, l.latency, latencyColumn)
			vals[i] = rate * latency / 1000
			errs = append(errs, err1, err2)
			continue
		}
		if i == 0 && strings.TrimSpace(rec.fields[p.col]) == "" {
			errs = append(errs, fmt.Errorf("line %d, column %s: no value (a run without a concurrency limit needs %s and %s, for Little's law)", rec.line, p.name, rateColumn, latencyColumn))
			continue
		}
		v, err := cellNumber(rec, p.col, p.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vals[i] = v * p.toMs
		if p.perCount {
			vals[i] /= count
		}
	}
	if err := errors.Join(errs...); err != nil {
		return benchRow{}, err
	}
	row := benchRow{line: rec.line, concurrency: vals[0], in: vals[1], out: vals[2], ttftMs: vals[3], itlMs: vals[4]}
	switch {
	case row.concurrency <= 0:
		return row, fmt.Errorf("line %d, column %s: concurrency must be positive, got %v", rec.line, l.cols[0].name, row.concurrency)
	case row.out < 1:
		return row, fmt.Errorf("line %d, column %s: output tokens must be at least 1, got %v", rec.line, l.cols[2].name, row.out)
	case row.ttftMs <= 0 || row.itlMs <= 0:
		return row, fmt.Errorf("line %d: TTFT and ITL must be positive, got %v ms and %v ms", rec.line, row.ttftMs, row.itlMs)
	case row.concurrency > estimator.MaxBatch || row.in > estimator.MaxInputTokens || row.out > estimator.MaxInputTokens ||
		row.ttftMs > estimator.MaxLatencyMs || row.itlMs > estimator.MaxLatencyMs:
		return row, fmt.Errorf("line %d: value beyond the accepted range (concurrency ≤ %g, input tokens ≤ %g, latencies ≤ %g ms)", rec.line, estimator.MaxBatch, estimator.MaxInputTokens, estimator.MaxLatencyMs)
	}
	return row, nil
}
