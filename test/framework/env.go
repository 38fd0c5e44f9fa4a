// Package framework starts a real control plane (kube-apiserver and etcd built
// by `make envtest-bins`) for integration tests, the demo and the load harness,
// and gives them a client, a kubeconfig and the built kubectl.
package framework

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

// AssetsEnv is the variable that points at the folder of the built binaries.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// Scheme knows the built-in types and the VariantAutoscaling API.
var Scheme = newScheme()

func newScheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := llmdv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// Options tune the control plane.
type Options struct {
	// APIServerFlags are extra kube-apiserver flags, e.g. max-requests-inflight.
	APIServerFlags map[string]string
	// ClientQPS and ClientBurst of the admin client; 0 keeps client-go's defaults.
	ClientQPS   float32
	ClientBurst int
}

// Env is a running control plane.
type Env struct {
	// Config is an admin REST config.
	Config *rest.Config
	// Client is an uncached admin client.
	Client client.Client
	// Kubeconfig is the path of an admin kubeconfig file for kubectl.
	Kubeconfig string
	// Dir holds the kubeconfig and other files of this environment.
	Dir string

	testEnv *envtest.Environment
}

// RepoRoot is the root of this repository, found from this file's location so
// tests run from any package folder.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// AssetsDir returns the folder of the built control-plane binaries.
func AssetsDir() (string, error) {
	dir := os.Getenv(AssetsEnv)
	if dir == "" {
		return "", fmt.Errorf("%s is not set: run the tests through `make test`, which builds the control plane with `make envtest-bins`", AssetsEnv)
	}
	for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s=%s has no %s: run `make envtest-bins`: %w", AssetsEnv, dir, bin, err)
		}
	}
	return dir, nil
}

// Start starts etcd and kube-apiserver with the repository's CRDs installed.
func Start(opts Options) (*Env, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "va-envtest-")
	if err != nil {
		return nil, fmt.Errorf("creating the environment folder: %w", err)
	}
	te := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                Scheme,
	}
	api := te.ControlPlane.GetAPIServer()
	for k, v := range opts.APIServerFlags {
		api.Configure().Set(k, v)
	}
	cfg, err := te.Start()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	env := &Env{Config: cfg, Dir: dir, testEnv: te}
	if opts.ClientQPS > 0 {
		cfg.QPS, cfg.Burst = opts.ClientQPS, opts.ClientBurst
	}
	if env.Client, err = client.New(cfg, client.Options{Scheme: Scheme}); err != nil {
		return nil, errors.Join(fmt.Errorf("creating a client: %w", err), env.Stop())
	}
	admin, err := te.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("adding the admin user: %w", err), env.Stop())
	}
	if env.Kubeconfig, err = env.WriteKubeconfig("admin", admin); err != nil {
		return nil, errors.Join(err, env.Stop())
	}
	return env, nil
}

// AddUser provisions a user with the given groups and returns its REST config
// and a kubeconfig path. RBAC decides what it may do.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, string, error) {
	u, err := e.testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("adding user %s: %w", name, err)
	}
	path, err := e.WriteKubeconfig(name, u)
	if err != nil {
		return nil, "", err
	}
	return u.Config(), path, nil
}

// WriteKubeconfig writes a user's kubeconfig into the environment's folder.
func (e *Env) WriteKubeconfig(name string, u *envtest.AuthenticatedUser) (string, error) {
	data, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("rendering the kubeconfig of %s: %w", name, err)
	}
	path := filepath.Join(e.Dir, name+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// Stop stops the control plane and removes its files.
func (e *Env) Stop() error {
	err := e.testEnv.Stop()
	return errors.Join(err, os.RemoveAll(e.Dir))
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
