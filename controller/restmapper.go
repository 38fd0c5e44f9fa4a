package controller

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
)

// NewRESTMapper is the manager's REST mapper (manager.Options.MapperProvider):
// controller-runtime's dynamic mapper, with the mappings of fully named kinds
// (group, version and kind) remembered once found.
//
// A cache restricted to namespaces asks the mapper whether an object's kind is
// namespaced on every Get and List, and the dynamic mapper answers through a
// PriorityRESTMapper that allocates at every call: at 10,000 VAs a fifth of
// the manager's allocated bytes went there. The mapping of a group, version
// and kind does not change while that version is served, and a version that
// is no longer served fails the API call that follows anyway. Kinds asked
// without a version (whose preferred version may change) and every miss go
// to the dynamic mapper, which reloads discovery.
func NewRESTMapper(cfg *rest.Config, httpClient *http.Client) (meta.RESTMapper, error) {
	dynamic, err := apiutil.NewDynamicRESTMapper(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return newRememberingMapper(dynamic), nil
}

type rememberingMapper struct {
	meta.RESTMapper

	mu    sync.RWMutex
	known map[mappingKey]meta.RESTMapping
}

type mappingKey struct {
	kind     schema.GroupKind
	versions string
}

func newRememberingMapper(m meta.RESTMapper) *rememberingMapper {
	return &rememberingMapper{RESTMapper: m, known: map[mappingKey]meta.RESTMapping{}}
}

// RESTMapping returns the remembered mapping of gk at the given versions, or
// asks the wrapped mapper and remembers its answer.
func (m *rememberingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	if len(versions) == 0 || slices.Contains(versions, "") {
		return m.RESTMapper.RESTMapping(gk, versions...)
	}
	key := mappingKey{kind: gk, versions: strings.Join(versions, ",")}
	m.mu.RLock()
	known, ok := m.known[key]
	m.mu.RUnlock()
	if ok {
		return &known, nil
	}
	mapping, err := m.RESTMapper.RESTMapping(gk, versions...)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	m.known[key] = *mapping
	m.mu.Unlock()
	return mapping, nil
}
