// Package framework holds the helpers of the integration tests: a control
// plane per test package (package internal/cluster starts it), builders,
// ConfigMap and namespace helpers, and the operator wired for tests.
package framework

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
)

// AssetsEnv is the variable that points at the folder of the built binaries.
const AssetsEnv = cluster.AssetsEnv

// Scheme knows the built-in types and the VariantAutoscaling API.
var Scheme = cluster.Scheme

// Options tune the control plane (see cluster.Options).
type Options = cluster.Options

// WithControllers is the control plane with the workload parts of a real
// cluster: kube-controller-manager (Deployments, ReplicaSets, the HPA, the
// garbage collector), kube-scheduler and kwok nodes of the default GPU
// pools, so that the Deployments a test creates roll out real pods.
func WithControllers() Options {
	return Options{Workloads: &cluster.WorkloadOptions{}}
}

// Env is a running control plane (see cluster.ControlPlane) with the test
// helpers of this package as methods.
type Env struct {
	*cluster.ControlPlane
}

// RepoRoot is the root of this repository.
func RepoRoot() string { return cluster.RepoRoot() }

// AssetsDir returns the folder of the built control-plane binaries.
func AssetsDir() (string, error) { return cluster.AssetsDir() }

// KubectlPath is the built kubectl; tests never use a kubectl from PATH.
func KubectlPath() (string, error) { return cluster.KubectlPath() }

// Start starts etcd and kube-apiserver with the repository's CRDs installed.
func Start(opts Options) (*Env, error) {
	cp, err := cluster.Start(opts)
	if err != nil {
		return nil, err
	}
	return &Env{ControlPlane: cp}, nil
}

// MustStart starts an environment for a test package's TestMain and exits the
// process with a clear message when it cannot.
func MustStart(opts Options) *Env {
	env, err := Start(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need a control plane:", err)
		os.Exit(1)
	}
	return env
}

// Main is the TestMain of an integration test package: it starts a control
// plane, runs setUp (when not nil), the tests, then tearDown and stops the
// control plane, and exits with the tests' code (1 when set-up failed).
func Main(m *testing.M, opts Options, setUp func(*Env) (tearDown func() error, err error)) {
	env := MustStart(opts)
	code := 1
	tearDown := func() error { return nil }
	var err error
	if setUp != nil {
		var td func() error
		if td, err = setUp(env); td != nil {
			tearDown = td
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the test cluster:", err)
	} else {
		code = m.Run()
	}
	if err := errors.Join(tearDown(), env.Stop()); err != nil {
		fmt.Fprintln(os.Stderr, "tearing down:", err)
	}
	os.Exit(code)
}
