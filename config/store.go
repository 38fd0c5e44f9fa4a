package config

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Store holds the configuration in force and keeps, for each ConfigMap, the
// last version that parsed: an invalid version is never applied. It is safe
// for concurrent use; readers get an immutable *Config without locking.
//
// The process creates one Store at start and hands it to everything that
// reads the configuration; those that must act on a change (the global
// pass's timer, the Prometheus connection) Subscribe to it.
type Store struct {
	env     map[string]string
	current atomic.Pointer[Config]

	mu          sync.Mutex // serializes writers and guards states and subscribers
	states      map[string]*configMapState
	subscribers []func(Change)
}

// configMapState is what the Store knows about one ConfigMap.
type configMapState struct {
	lastErr error // error of the latest version; nil when it was applied
}

// NewStore returns a Store holding the defaults, with env (the manager's
// environment, see ParseOperatorConfig and OperatorEnv) overriding operator
// keys. No ConfigMap seen means defaults in force, which is valid. An invalid
// environment variable makes the operator ConfigMap invalid (see LastError)
// until the manager restarts with a fixed environment; callers that prefer
// to fail fast check ParseOperatorConfig(nil, env) first.
func NewStore(env map[string]string) *Store {
	s := &Store{env: map[string]string{}, states: map[string]*configMapState{}}
	for _, k := range OperatorKeys() { // only these are read; keep no other variable
		if v, ok := env[k]; ok {
			s.env[k] = v
		}
	}
	for _, name := range Names() {
		s.states[name] = &configMapState{}
	}
	cfg := Defaults()
	if next, err := cfg.With(OperatorConfigMapName, nil, s.env); err != nil {
		s.states[OperatorConfigMapName].lastErr = fmt.Errorf("%w; the defaults stay in force", err)
	} else {
		cfg = next
	}
	s.current.Store(cfg)
	return s
}

// Config returns the configuration in force. Never nil; do not modify it.
func (s *Store) Config() *Config { return s.current.Load() }

// Update applies a new version of the named ConfigMap and returns what
// changed. When the version is invalid, the previous good version of that
// ConfigMap stays in force, nothing changes, and the error (wrapping an
// *InvalidError that names the ConfigMap and the keys) is returned and kept
// for LastError. An unknown name wraps ErrUnknownConfigMap.
func (s *Store) Update(name string, data map[string]string) (Change, error) {
	return s.apply(name, data)
}

// Delete reverts the named ConfigMap to its defaults (for the operator
// ConfigMap: defaults plus environment) and returns what changed.
func (s *Store) Delete(name string) (Change, error) {
	return s.apply(name, nil)
}

// Subscribe registers fn to be told of every applied change that is not
// empty, once the new configuration is in force, in the order of
// subscription. fn runs on the writer's goroutine: it must return quickly
// (signal a channel rather than do the work).
func (s *Store) Subscribe(fn func(Change)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subscribers = append(s.subscribers, fn)
}

func (s *Store) apply(name string, data map[string]string) (Change, error) {
	change, subscribers, err := s.swap(name, data)
	if err != nil || change.Empty() {
		return change, err
	}
	for _, fn := range subscribers {
		fn(change)
	}
	return change, nil
}

// swap replaces the configuration in force and returns the change and the
// subscribers to tell, which are called without the lock held.
func (s *Store) swap(name string, data map[string]string) (Change, []func(Change), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[name]
	if !ok {
		return Change{}, nil, fmt.Errorf("ConfigMap %q: %w (known: %s)", name, ErrUnknownConfigMap, strings.Join(Names(), ", "))
	}
	old := s.current.Load()
	next, err := old.With(name, data, s.env)
	if err != nil {
		st.lastErr = fmt.Errorf("%w; the last good version stays in force", err)
		return Change{}, nil, st.lastErr
	}
	st.lastErr = nil
	s.current.Store(next)
	return Diff(old, next), slices.Clone(s.subscribers), nil
}

// Valid reports whether the latest version of the named ConfigMap (or its
// absence) is in force. False for unknown names.
func (s *Store) Valid(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.states[name]
	return ok && st.lastErr == nil
}

// LastError returns why the latest version of the named ConfigMap was not
// applied, or nil.
func (s *Store) LastError(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.states[name]; ok {
		return st.lastErr
	}
	return nil
}
