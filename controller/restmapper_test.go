package controller

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// countingMapper counts the mappings asked of the wrapped mapper.
type countingMapper struct {
	meta.RESTMapper
	calls int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.calls++
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestRememberingMapperAsksOncePerNamedVersion(t *testing.T) {
	deployments := schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	inner := meta.NewDefaultRESTMapper([]schema.GroupVersion{deployments.GroupVersion()})
	inner.Add(deployments, meta.RESTScopeNamespace)
	counting := &countingMapper{RESTMapper: inner}
	m := newRememberingMapper(counting)

	type ask struct {
		kind     string
		versions []string
	}
	asks := []ask{
		{"Deployment", []string{"v1"}},
		{"Deployment", []string{"v1"}},      // remembered
		{"Deployment", nil},                 // no version: always asked
		{"Deployment", []string{""}},        // an empty version: always asked
		{"Missing", []string{"v1"}},         // an error: not remembered
		{"Missing", []string{"v1"}},         // asked again
		{"Deployment", []string{"v1", "x"}}, // other versions: asked once
		{"Deployment", []string{"v1", "x"}},
	}
	var gotCalls []int
	for _, a := range asks {
		mapping, err := m.RESTMapping(schema.GroupKind{Group: "apps", Kind: a.kind}, a.versions...)
		if a.kind == "Missing" {
			if !meta.IsNoMatchError(err) {
				t.Errorf("%v: err = %v, want no match", a, err)
			}
		} else if err != nil || mapping.Resource.Resource != "deployments" || mapping.Scope.Name() != meta.RESTScopeNameNamespace {
			t.Errorf("%v: mapping %+v, %v", a, mapping, err)
		}
		gotCalls = append(gotCalls, counting.calls)
	}
	if diff := cmp.Diff([]int{1, 1, 2, 3, 4, 5, 6, 6}, gotCalls); diff != "" {
		t.Errorf("calls to the wrapped mapper after each ask (-want +got):\n%s", diff)
	}
}
