package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors, for errors.Is.
var (
	// ErrUnknownConfigMap is returned for a ConfigMap name this package does not own.
	ErrUnknownConfigMap = errors.New("not a ConfigMap of the variant-autoscaler")
	// ErrNoCost is returned by Config.VariantCost when a variant has no cost.
	ErrNoCost = errors.New("no cost for variant")
	// ErrNoSLO is returned by Config.SLOFor when a model has no SLO.
	ErrNoSLO = errors.New("no SLO for model")
)

// KeyError is one problem with one key of a ConfigMap, or with one
// environment variable that overrides such a key.
type KeyError struct {
	// Key is the ConfigMap key (or environment variable) at fault.
	Key string
	// FromEnv is true when the value came from the manager's environment.
	FromEnv bool
	// Err says what is wrong; its text names the field inside the value when
	// the value is structured.
	Err error
}

func (e *KeyError) Error() string {
	if e.FromEnv {
		return fmt.Sprintf("environment variable %s: %v", e.Key, e.Err)
	}
	return fmt.Sprintf("key %q: %v", e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// InvalidError says why a ConfigMap was rejected. It lists every problem
// found, ordered by key, so that one fix-and-apply round usually suffices.
type InvalidError struct {
	// ConfigMap is the name of the rejected ConfigMap.
	ConfigMap string
	// Problems holds at least one entry.
	Problems []*KeyError
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return fmt.Sprintf("ConfigMap %s is invalid: %s", e.ConfigMap, strings.Join(parts, "; "))
}

// Unwrap returns the problems, so errors.As finds e.g. a *KeyError or an
// api DecimalError inside.
func (e *InvalidError) Unwrap() []error {
	out := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p
	}
	return out
}

// problems collects KeyErrors while a ConfigMap is parsed.
type problems struct {
	configMap string
	list      []*KeyError
}

func (p *problems) add(key string, err error) {
	if err != nil {
		p.list = append(p.list, &KeyError{Key: key, Err: err})
	}
}

func (p *problems) addEnv(key string, fromEnv bool, err error) {
	if err != nil {
		p.list = append(p.list, &KeyError{Key: key, FromEnv: fromEnv, Err: err})
	}
}

// err returns nil when nothing was collected, else an *InvalidError.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].Key < p.list[j].Key })
	return &InvalidError{ConfigMap: p.configMap, Problems: p.list}
}
