package harness

import (
	"strings"
	"testing"
)

func TestParseAPIMetrics(t *testing.T) {
	text := `# HELP apiserver_request_total [STABLE] Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 4
apiserver_request_total{code="404",component="apiserver",dry_run="",group="",resource="configmaps",scope="resource",subresource="",verb="GET",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="llmd.ai",resource="variantautoscalings",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 7
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="",scope="",subresource="/metrics",verb="GET",version=""} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 2
apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 99
process_cpu_seconds_total 12.5
`
	got, err := parseAPIMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	want := APICounts{"GET configmaps": 5, "PATCH variantautoscalings/status": 7, "PUT leases": 2}
	if len(got.Requests) != len(want) {
		t.Fatalf("requests %v, want %v", got.Requests, want)
	}
	for k, v := range want {
		if got.Requests[k] != v {
			t.Errorf("%s = %v, want %v", k, got.Requests[k], v)
		}
	}
	if got.CPUSeconds != 12.5 {
		t.Errorf("CPU seconds %v, want 12.5", got.CPUSeconds)
	}
	if w := got.Requests.Writes(); w != 7 {
		t.Errorf("writes %v, want 7 (the lease update is the API server's own)", w)
	}
}

func TestLabelOfHandlesEscapes(t *testing.T) {
	labels := `a="x\"y",verb="PATCH",b=""`
	if got := labelOf(labels, "verb"); got != "PATCH" {
		t.Errorf("verb = %q", got)
	}
	if got := labelOf(labels, "b"); got != "" {
		t.Errorf("b = %q", got)
	}
	if got := labelOf(labels, "missing"); got != "" {
		t.Errorf("missing = %q", got)
	}
}
