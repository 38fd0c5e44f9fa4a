package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// isJSON reports whether the input is JSON rather than CSV: vLLM's
// benchmark result files (an object per run, one per file or one per line
// with --append-result) or an array of such objects.
func isJSON(data []byte) bool {
	t := bytes.TrimSpace(data)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// jsonRecords turns each run object into a row: a header row of every key
// seen (in order of appearance), then one row per object, numbers and
// strings as cells (null and nested values, such as the per-request
// lists, empty). A row's line is where its object starts.
func jsonRecords(data []byte) ([]record, error) {
	var objs []map[string]json.RawMessage
	var lines []int
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
			return nil, fmt.Errorf("line %d: %w", lineAt(data, at), err)
		}
		start := int(dec.InputOffset()) - len(v)
		var batch []map[string]json.RawMessage
		if bytes.HasPrefix(v, []byte("[")) {
			err = json.Unmarshal(v, &batch)
		} else {
			var o map[string]json.RawMessage
			err = json.Unmarshal(v, &o)
			batch = append(batch, o)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: a run must be a JSON object (or an array of them): %w", lineAt(data, int64(start)), err)
		}
		for _, o := range batch {
			objs, lines = append(objs, o), append(lines, lineAt(data, int64(start)))
		}
	}
	col := map[string]int{}
	var header []string
	for _, o := range objs {
		for k := range o {
			if _, ok := col[strings.ToLower(k)]; !ok {
				col[strings.ToLower(k)] = len(header)
				header = append(header, strings.ToLower(k))
			}
		}
	}
	recs := []record{{fields: header}}
	for i, o := range objs {
		fields := make([]string, len(header))
		for k, raw := range o {
			fields[col[strings.ToLower(k)]] = cell(raw)
		}
		recs = append(recs, record{fields: fields, line: lines[i]})
	}
	return recs, nil
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

func lineAt(data []byte, offset int64) int {
	return 1 + bytes.Count(data[:min(int(offset), len(data))], []byte("\n"))
}
