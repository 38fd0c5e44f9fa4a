// Package manager tests the manager binary as it ships: built from
// cmd/manager, run as a subprocess against a real kube-apiserver with only
// the RBAC of config/rbac, and the kustomize manifests of config/ as the API
// server sees them.
package manager

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// serviceAccountUser is the identity the manager runs as in a cluster; RBAC
// matches ServiceAccount subjects by this user name.
const serviceAccountUser = "system:serviceaccount:" + config.DefaultNamespace + ":controller-manager"

var (
	env *framework.Env
	// managerBin is the built manager.
	managerBin string
	// managerKubeconfig authenticates as the manager's ServiceAccount.
	managerKubeconfig string
)

func TestMain(m *testing.M) {
	env = framework.MustStart(framework.WithControllers())
	code := 1
	dir, err := os.MkdirTemp("", "va-manager-test-")
	if err == nil {
		err = setup(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "setting up the manager tests:", err)
	} else {
		code = m.Run()
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}

// setup builds the manager, installs the shipped RBAC and ConfigMaps, and
// provisions the manager's ServiceAccount identity.
func setup(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	managerBin = filepath.Join(dir, "manager")
	build := exec.CommandContext(ctx, "go", "build", "-o", managerBin, "./cmd/manager")
	build.Dir = framework.RepoRoot()
	build.Env = append(os.Environ(), "GOWORK=off")
	var out bytes.Buffer
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the manager: %w\n%s", err, out.String())
	}

	if err := framework.CreateNamespace(ctx, env.Client, config.DefaultNamespace); err != nil {
		return err
	}
	rbac, err := kustomize(ctx, "config/rbac")
	if err != nil {
		return err
	}
	if _, err := env.Kubectl(ctx, rbac, "apply", "-f", "-"); err != nil {
		return fmt.Errorf("applying config/rbac: %w", err)
	}
	for _, name := range config.Names() {
		path := filepath.Join(framework.RepoRoot(), "config", "manager", name+".yaml")
		if _, err := env.Kubectl(ctx, "", "apply", "-f", path); err != nil {
			return fmt.Errorf("applying the shipped ConfigMap %s: %w", name, err)
		}
	}
	_, managerKubeconfig, err = env.AddUser(serviceAccountUser,
		"system:serviceaccounts", "system:serviceaccounts:"+config.DefaultNamespace)
	return err
}

// kustomize renders a folder of the repository with the built kubectl.
func kustomize(ctx context.Context, dir string) (string, error) {
	bin, err := framework.KubectlPath()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "kustomize", filepath.Join(framework.RepoRoot(), dir))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("kubectl kustomize %s: %w: %s", dir, err, stderr.String())
	}
	return stdout.String(), nil
}
