package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// AssetsEnv is the variable that points at the folder of the built binaries.
const AssetsEnv = "KUBEBUILDER_ASSETS"

// RepoRoot is the root of this repository, found from this file's location,
// so callers in any package folder find the CRDs and shipped manifests.
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
