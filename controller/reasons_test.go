package controller

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/allocator"
	"github.com/llm-d/variant-autoscaler/config"
)

// constantsOfType returns the string constants of the named type declared in
// the non-test files of dir, by constant name.
func constantsOfType(t *testing.T, dir, typeName string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
					continue
				}
				for i, name := range vs.Names {
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: constant %s is not a string literal", dir, name.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					out[name.Name] = v
				}
			}
		}
	}
	return out
}

// TestAllocatorReasonsAreDecisionReasons ties the allocator's reasons to the
// API's: decisionReason converts by text, so every allocator.Reason constant
// must be declared in api/v1alpha1 as a DecisionReason of the same name and
// value (the API may have more, set by the controller itself).
func TestAllocatorReasonsAreDecisionReasons(t *testing.T) {
	reasons := constantsOfType(t, filepath.Join("..", "allocator"), "Reason")
	api := constantsOfType(t, filepath.Join("..", "api", "v1alpha1"), "DecisionReason")
	if len(reasons) < 10 || len(api) < len(reasons) {
		t.Fatalf("found %d allocator reasons and %d API decision reasons; the parser is looking in the wrong place", len(reasons), len(api))
	}
	for name, value := range reasons {
		if got, ok := api[name]; !ok || got != value {
			t.Errorf("allocator.%s = %q has no api/v1alpha1 DecisionReason %s = %q (got %q)", name, value, name, value, got)
		}
		if got := decisionReason(allocator.Reason(value)); string(got) != value {
			t.Errorf("decisionReason(%q) = %q", value, got)
		}
	}
}

// TestDefaultPolicyIsTheOperatorDefault ties allocator.DefaultPolicy (used by
// the planner CLI and the replays) to the operator's defaults in package config.
func TestDefaultPolicyIsTheOperatorDefault(t *testing.T) {
	cfg := config.Defaults()
	stz := cfg.ScaleToZeroFor("ns", "model")
	if diff := cmp.Diff(allocator.DefaultPolicy(), groupPolicy(cfg, stz)); diff != "" {
		t.Errorf("allocator.DefaultPolicy differs from the policy of the default config (-allocator +config):\n%s", diff)
	}
}
