package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// guidellmRuns reads guidellm's JSON report (guidellm benchmark
// --output-path benchmarks.json, v0.3 and later): an object whose
// "benchmarks" array holds one run each, with per metric a summary per
// request status. A run's columns are the means over its successful
// requests, named as guidellm's one-row CSV export names them
// ("successful request concurrency mean", "successful time to first token
// ms mean", ...), so the report and the export read alike. at is the
// report's offset in the file, for the line each benchmark starts on. ok
// is false when report is not such an object.
func guidellmRuns(report json.RawMessage, at int64, lines *lineCounter) (runs []jsonRun, ok bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(report))
	if d, err := dec.Token(); err != nil || d != json.Delim('{') {
		return nil, false, nil
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, false, nil
		}
		if key != "benchmarks" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, false, nil
			}
			continue
		}
		if d, err := dec.Token(); err != nil || d != json.Delim('[') {
			return nil, false, nil
		}
		for i := 1; dec.More(); i++ {
			var b json.RawMessage
			if err := dec.Decode(&b); err != nil {
				return nil, false, nil
			}
			line := lines.at(at + dec.InputOffset() - int64(len(b)))
			fields, err := successfulMeans(b)
			if err != nil {
				return nil, true, fmt.Errorf("line %d: guidellm benchmark %d: %w", line, i, err)
			}
			runs = append(runs, jsonRun{fields: fields, line: line})
		}
		return runs, true, nil
	}
	return nil, false, nil
}

// successfulMeans returns, per metric of a guidellm benchmark that has a
// mean over successful requests, that mean under its CSV column name.
// Metrics of another shape (request_totals' counts, the per-modality
// summaries) are left out.
func successfulMeans(benchmark json.RawMessage) (map[string]json.RawMessage, error) {
	var b struct {
		Metrics map[string]json.RawMessage `json:"metrics"`
	}
	if err := json.Unmarshal(benchmark, &b); err != nil {
		return nil, fmt.Errorf("not an object: %w", err)
	}
	if len(b.Metrics) == 0 {
		return nil, errors.New(`no "metrics"`)
	}
	fields := map[string]json.RawMessage{}
	for name, m := range b.Metrics {
		var summary struct {
			Successful struct {
				Mean json.RawMessage `json:"mean"`
			} `json:"successful"`
		}
		if json.Unmarshal(m, &summary) == nil && summary.Successful.Mean != nil {
			fields["successful "+strings.ReplaceAll(name, "_", " ")+" mean"] = summary.Successful.Mean
		}
	}
	return fields, nil
}

// yamlMapping matches a document whose first line that is not blank or a
// comment opens a mapping ("key:").
var yamlMapping = regexp.MustCompile(`^(?:[ \t]*(?:#[^\n]*)?\r?\n)*[A-Za-z_][\w-]*:(?:[ \t]|\r?\n|$)`)

// guidellmYAML reads guidellm's report written as YAML (--output-path
// benchmarks.yaml) as its JSON one, each benchmark at the line it starts
// on. ok is false when data is not a YAML mapping with a "benchmarks"
// sequence (a CSV table is a YAML scalar).
func guidellmYAML(data []byte) (recs []record, ok bool, err error) {
	if !yamlMapping.Match(data) {
		return nil, false, nil // not worth parsing a large CSV table as YAML
	}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, false, nil
	}
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "benchmarks" || root.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		var runs []jsonRun
		for j, b := range root.Content[i+1].Content {
			fields, err := yamlMeans(b)
			if err != nil {
				return nil, true, fmt.Errorf("line %d: guidellm benchmark %d: %w", b.Line, j+1, err)
			}
			runs = append(runs, jsonRun{fields: fields, line: b.Line})
		}
		return runRecords(runs), true, nil
	}
	return nil, false, nil
}

// yamlMeans is successfulMeans of a benchmark written as YAML.
func yamlMeans(benchmark *yaml.Node) (map[string]json.RawMessage, error) {
	var v any
	if err := benchmark.Decode(&v); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return successfulMeans(raw)
}
