package config

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// The structured values (JSON or YAML; JSON is YAML) are decoded into generic
// maps first and then read field by field. That gives strict, exact-case field
// names (encoding/json would match "Name" to "name" silently), type checks
// that name the field with its full path ("data[2].slo-ttft"), and no silent
// coercion of numbers into strings.

// object is one decoded mapping together with its path, for error messages.
type object struct {
	m    map[string]any
	path string
}

// decodeObject parses value as YAML (or JSON) holding one mapping whose field
// names are all in allowed. Duplicate fields are rejected.
func decodeObject(value string, allowed ...string) (object, error) {
	if strings.TrimSpace(value) == "" {
		return object{}, fmt.Errorf("value is empty")
	}
	var doc any
	if err := yaml.UnmarshalStrict([]byte(value), &doc); err != nil {
		return object{}, fmt.Errorf("not valid YAML or JSON: %s", cleanYAMLError(err))
	}
	return asObject(doc, "", allowed...)
}

// cleanYAMLError drops the library's layering prefixes from a parse error.
func cleanYAMLError(err error) string {
	s := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: ", "yaml: "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return strings.Join(strings.Fields(s), " ")
}

// asObject checks that v is a mapping whose fields are all in allowed.
func asObject(v any, path string, allowed ...string) (object, error) {
	m, ok := v.(map[string]any)
	if !ok {
		what := "the value"
		if path != "" {
			what = path
		}
		return object{}, fmt.Errorf("%s must be a mapping with fields %s, got %s", what, strings.Join(allowed, ", "), describe(v))
	}
	o := object{m: m, path: path}
	var unknown []string
	for k := range m {
		if !contains(allowed, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		msg := fmt.Sprintf("unknown field %s", o.name(unknown[0]))
		if s := suggest(unknown[0], allowed); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		if len(unknown) > 1 {
			msg = fmt.Sprintf("%s and %d more unknown fields", msg, len(unknown)-1)
		}
		return object{}, fmt.Errorf("%s; known fields: %s", msg, strings.Join(allowed, ", "))
	}
	return o, nil
}

// name is the full path of a field, for error messages.
func (o object) name(field string) string {
	if o.path == "" {
		return field
	}
	return o.path + "." + field
}

// str reads an optional string field; "" when absent or null.
func (o object) str(field string) (string, error) {
	v, ok := o.m[field]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		hint := ""
		switch v.(type) {
		case bool, float64:
			// YAML reads yes, no, on, off, 1.0 etc. as booleans or numbers.
			hint = "; put the value in quotes"
		}
		return "", fmt.Errorf("%s: expected a string, got %s%s", o.name(field), describe(v), hint)
	}
	return s, nil
}

// requiredStr reads a string field that must be present and non-blank.
func (o object) requiredStr(field string) (string, error) {
	s, err := o.str(field)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s: required", o.name(field))
	}
	return s, nil
}

// number reads an optional finite number field.
func (o object) number(field string) (v float64, present bool, err error) {
	raw, ok := o.m[field]
	if !ok || raw == nil {
		return 0, false, nil
	}
	f, ok := raw.(float64)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, fmt.Errorf("%s: expected a number, got %s", o.name(field), describe(raw))
	}
	return f, true, nil
}

// integer reads an optional whole-number field.
func (o object) integer(field string) (v int64, present bool, err error) {
	f, present, err := o.number(field)
	if err != nil || !present {
		return 0, present, err
	}
	if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return 0, true, fmt.Errorf("%s: expected a whole number, got %s", o.name(field), describe(f))
	}
	return int64(f), true, nil
}

// boolean reads an optional boolean field.
func (o object) boolean(field string) (v bool, present bool, err error) {
	raw, ok := o.m[field]
	if !ok || raw == nil {
		return false, false, nil
	}
	b, ok := raw.(bool)
	if !ok {
		return false, true, fmt.Errorf("%s: expected true or false, got %s", o.name(field), describe(raw))
	}
	return b, true, nil
}

// list reads an optional list field.
func (o object) list(field string) ([]any, error) {
	raw, ok := o.m[field]
	if !ok || raw == nil {
		return nil, nil
	}
	l, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: expected a list, got %s", o.name(field), describe(raw))
	}
	return l, nil
}

// describe renders a decoded value briefly, for error messages.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "nothing (null)"
	case string:
		if len(t) > 64 {
			t = t[:64] + "..."
		}
		return fmt.Sprintf("string %q", t)
	case float64:
		return "number " + strconv.FormatFloat(t, 'g', -1, 64)
	case bool:
		return fmt.Sprintf("boolean %t", t)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// checkModelID validates a model ID as the API does (non-empty, at most 253 characters).
func checkModelID(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("%s: required", field)
	case len(s) > 253:
		return fmt.Errorf("%s: longer than 253 characters", field)
	}
	return nil
}

// checkNamespace validates an optional namespace name ("" = any namespace).
func checkNamespace(field, s string) error {
	if s == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(s); len(errs) > 0 {
		return fmt.Errorf("%s: %q is not a valid namespace name: %s", field, s, strings.Join(errs, "; "))
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the candidate closest to s when it is a likely typo of it
// (same letters ignoring case, '-' and '_', or at most two edits apart).
func suggest(s string, candidates []string) string {
	norm := func(x string) string {
		return strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(x))
	}
	best, bestDist := "", 3
	for _, c := range candidates {
		if norm(c) == norm(s) {
			return c
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes; it
// gives up (returns a large value) for long inputs, which are never typos of
// a short key.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 1 << 30
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
