package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCgroupMemoryLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		files   map[string]string
		want    int64
		wantErr string
	}{
		"cgroup v2 with a limit":   {files: map[string]string{cgroupV2MemoryMax: "536870912\n"}, want: 512 << 20},
		"cgroup v2 without":        {files: map[string]string{cgroupV2MemoryMax: "max\n"}},
		"cgroup v1 with a limit":   {files: map[string]string{cgroupV1Limit: "268435456\n"}, want: 256 << 20},
		"cgroup v1 without":        {files: map[string]string{cgroupV1Limit: "9223372036854771712\n"}},
		"v2 before v1":             {files: map[string]string{cgroupV2MemoryMax: "1048576", cgroupV1Limit: "2097152"}, want: 1 << 20},
		"no cgroup files":          {},
		"garbage is an error":      {files: map[string]string{cgroupV2MemoryMax: "lots"}, wantErr: `"lots", not a number of bytes`},
		"a zero limit is an error": {files: map[string]string{cgroupV2MemoryMax: "0"}, wantErr: "not a number of bytes"},
	} {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			for f, content := range tc.files {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := cgroupMemoryLimit(root)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	for name, tc := range map[string]struct {
		ratio   float64
		limit   int64
		environ []string
		want    int64
	}{
		"90% of the container's limit": {ratio: 0.9, limit: 1000, environ: []string{"HOME=/"}, want: 900},
		"GOMEMLIMIT wins":              {ratio: 0.9, limit: 1000, environ: []string{"GOMEMLIMIT=100MiB"}},
		"no container limit":           {ratio: 0.9},
		"turned off":                   {limit: 1000},
	} {
		t.Run(name, func(t *testing.T) {
			if got := softMemoryLimit(tc.ratio, tc.limit, tc.environ); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestGCPercent(t *testing.T) {
	if got, ok := gcPercent(50, []string{"HOME=/"}); !ok || got != 50 {
		t.Errorf("without GOGC: %d, %v; want 50, true", got, ok)
	}
	if _, ok := gcPercent(50, []string{"GOGC=200"}); ok {
		t.Error("GOGC in the environment must win over the flag")
	}
}
