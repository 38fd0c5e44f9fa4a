package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// isJSON reports whether the input is JSON rather than CSV: vLLM's
// benchmark result files (an object per run, one per file or one per line
// with --append-result), an array of such objects, or guidellm's report.
func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// jsonRun is one run's fields and the line it starts on.
type jsonRun struct {
	fields map[string]json.RawMessage
	line   int
}

// jsonRecords turns each run object into a row: a header row of every key
// seen (sorted), then one row per object, numbers and strings as cells
// (null and nested values, such as the per-request lists, empty). A row's
// line is where its object starts.
func jsonRecords(data []byte) ([]record, error) {
	var runs []jsonRun
	lines := lineCounter{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// The value that failed starts at the next non-space byte.
			rest := data[dec.InputOffset():]
			at := dec.InputOffset() + int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n")))
			return nil, fmt.Errorf("line %d: %w", lines.at(at), err)
		}
		start := dec.InputOffset() - int64(len(v))
		line := lines.at(start)
		if rs, ok, err := guidellmRuns(v, start, &lines); ok {
			if err != nil {
				return nil, err
			}
			runs = append(runs, rs...)
			continue
		}
		var batch []map[string]json.RawMessage
		if bytes.HasPrefix(v, []byte("[")) {
			err = json.Unmarshal(v, &batch)
		} else {
			var o map[string]json.RawMessage
			err = json.Unmarshal(v, &o)
			batch = append(batch, o)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: a run must be a JSON object (or an array of them): %w", line, err)
		}
		for _, o := range batch {
			runs = append(runs, jsonRun{fields: o, line: line})
		}
	}
	return runRecords(runs), nil
}

// runRecords makes a table of runs: a header row of every key seen
// (sorted, lower case), then one row per run.
func runRecords(runs []jsonRun) []record {
	col := map[string]int{}
	for _, r := range runs {
		for k := range r.fields {
			col[strings.ToLower(k)] = 0
		}
	}
	header := slices.Sorted(maps.Keys(col))
	for i, k := range header {
		col[k] = i
	}
	recs := []record{{fields: header}}
	for _, r := range runs {
		fields := make([]string, len(header))
		for k, raw := range r.fields {
			fields[col[strings.ToLower(k)]] = cell(raw)
		}
		recs = append(recs, record{fields: fields, line: r.line})
	}
	return recs
}

// cell renders a JSON scalar as a table cell ("" for null or nested).
func cell(raw json.RawMessage) string {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return ""
	}
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case string:
		return x
	}
	return ""
}

// lineCounter gives the line of increasing offsets into data, counting
// each byte once however many runs the file holds.
type lineCounter struct {
	data   []byte
	offset int64
	line   int
}

func (c *lineCounter) at(offset int64) int {
	offset = min(offset, int64(len(c.data)))
	if offset > c.offset {
		c.line += bytes.Count(c.data[c.offset:offset], []byte("\n"))
		c.offset = offset
	}
	return 1 + c.line
}
