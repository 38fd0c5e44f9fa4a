package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
)

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
	// Workloads, when set, also starts kube-controller-manager,
	// kube-scheduler and kwok with fake GPU node pools, and configures the
	// aggregation layer (see StartWorkloads).
	Workloads *WorkloadOptions
}

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	// Config is an admin REST config.
	Config *rest.Config
	// Client is an uncached admin client.
	Client client.Client
	// Kubeconfig is the path of an admin kubeconfig file for kubectl.
	Kubeconfig string
	// Dir holds the kubeconfig and other files of this control plane.
	Dir string
	// Workloads are the controllers, scheduler and kwok, when Options.Workloads
	// asked for them.
	Workloads *Workloads

	testEnv *envtest.Environment
}

// Start starts etcd and kube-apiserver with the repository's CRDs installed.
func Start(opts Options) (*ControlPlane, error) {
	assets, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "va-envtest-")
	if err != nil {
		return nil, fmt.Errorf("creating the control-plane folder: %w", err)
	}
	te := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
		Scheme:                Scheme,
		// envtest's 20 s default is too short when two test packages start
		// control planes at once on a busy 2-core machine.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	api := te.ControlPlane.GetAPIServer()
	// The address published in the default "kubernetes" Service: loopback,
	// never the machine's own IP, and the only choice in a network namespace
	// without a default route.
	// The endpoint reconciler refuses a loopback address; nothing here reads
	// the "kubernetes" Service's endpoints.
	api.Configure().Set("advertise-address", "127.0.0.1")
	api.Configure().Set("endpoint-reconciler-type", "none")
	if opts.Workloads != nil {
		flags, err := WorkloadAPIServerFlags(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		for k, v := range flags {
			api.Configure().Set(k, v)
		}
	}
	for k, v := range opts.APIServerFlags {
		api.Configure().Set(k, v)
	}
	cfg, err := te.Start()
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the control plane from %s: %w", assets, err)
	}
	cp := &ControlPlane{Config: cfg, Dir: dir, testEnv: te}
	if opts.ClientQPS > 0 {
		cfg.QPS, cfg.Burst = opts.ClientQPS, opts.ClientBurst
	}
	if cp.Client, err = client.New(cfg, client.Options{Scheme: Scheme}); err != nil {
		return nil, errors.Join(fmt.Errorf("creating a client: %w", err), cp.Stop())
	}
	admin, err := te.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("adding the admin user: %w", err), cp.Stop())
	}
	if cp.Kubeconfig, err = cp.WriteKubeconfig("admin", admin); err != nil {
		return nil, errors.Join(err, cp.Stop())
	}
	if opts.Workloads != nil {
		if cp.Workloads, err = StartWorkloads(context.Background(), assets, dir, cp.Kubeconfig, cp.Client, *opts.Workloads); err != nil {
			return nil, errors.Join(err, cp.Stop())
		}
	}
	return cp, nil
}

// AddUser provisions a user with the given groups and returns its REST config
// and a kubeconfig path. RBAC decides what it may do.
func (c *ControlPlane) AddUser(name string, groups ...string) (*rest.Config, string, error) {
	u, err := c.testEnv.AddUser(envtest.User{Name: name, Groups: groups}, nil)
	if err != nil {
		return nil, "", fmt.Errorf("adding user %s: %w", name, err)
	}
	path, err := c.WriteKubeconfig(name, u)
	if err != nil {
		return nil, "", err
	}
	return u.Config(), path, nil
}

// WriteKubeconfig writes a user's kubeconfig into the control plane's folder.
func (c *ControlPlane) WriteKubeconfig(name string, u *envtest.AuthenticatedUser) (string, error) {
	data, err := u.KubeConfig()
	if err != nil {
		return "", fmt.Errorf("rendering the kubeconfig of %s: %w", name, err)
	}
	path := filepath.Join(c.Dir, name+".kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}

// Stop stops the workloads' components, then the control plane, and removes
// its files (kept when VA_KEEP_LOGS is set, for the components' logs).
func (c *ControlPlane) Stop() error {
	err := c.Workloads.Stop()
	err = errors.Join(err, c.testEnv.Stop())
	if os.Getenv("VA_KEEP_LOGS") != "" {
		fmt.Fprintln(os.Stderr, "control plane files kept in", c.Dir)
		return err
	}
	return errors.Join(err, os.RemoveAll(c.Dir))
}
