package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The container's memory limit, as the kernel enforces it: cgroup v2 keeps
// it in memory.max ("max": none), cgroup v1 in memory.limit_in_bytes (a
// value near the largest int64: none).
const (
	cgroupV2MemoryMax = "memory.max"
	cgroupV1Limit     = "memory/memory.limit_in_bytes"
	// cgroupV1NoLimit: v1 reports "no limit" as the largest int64 rounded
	// down to a page; anything from here up is no limit.
	cgroupV1NoLimit = math.MaxInt64 / 2
)

// cgroupMemoryLimit returns the memory limit of the cgroup mounted at root
// (/sys/fs/cgroup in a container), 0 when there is none or no cgroup file.
func cgroupMemoryLimit(root string) (int64, error) {
	for _, name := range []string{cgroupV2MemoryMax, cgroupV1Limit} {
		b, err := os.ReadFile(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("reading the cgroup memory limit: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("the cgroup memory limit in %s is %q, not a number of bytes", name, v)
		}
		if n >= cgroupV1NoLimit {
			return 0, nil
		}
		return n, nil
	}
	return 0, nil
}

// softMemoryLimit is the Go soft memory limit the manager sets (0: none):
// ratio of the cgroup's limit, unless GOMEMLIMIT is in the environment (the
// runtime has then applied it) or the ratio is 0. The GC then works harder
// as the heap nears the container's limit, instead of the kernel killing
// the process.
func softMemoryLimit(ratio float64, cgroupLimit int64, environ []string) int64 {
	if inEnviron(environ, "GOMEMLIMIT") || ratio <= 0 || cgroupLimit <= 0 {
		return 0
	}
	return int64(ratio * float64(cgroupLimit))
}

// defaultGCPercent is --gc-percent's default, chosen from the manager's
// RSS and CPU at N = 10,000 with 100, 50 and 25 (docs/performance.md).
const defaultGCPercent = 25

// gcPercent is the GC target the manager sets (ok false: leave the
// runtime's): the --gc-percent flag unless GOGC is in the environment. The
// manager's live heap is mostly its informer caches, which change little; a
// lower percent keeps the heap nearer to them at little CPU
// (docs/performance.md, "Fourth pass").
func gcPercent(flag int, environ []string) (int, bool) {
	if inEnviron(environ, "GOGC") {
		return 0, false
	}
	return flag, true
}

// inEnviron reports whether the variable name is set in environ (the
// runtime has then applied it).
func inEnviron(environ []string, name string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
