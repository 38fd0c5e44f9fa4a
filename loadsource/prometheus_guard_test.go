package loadsource

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestLimitBodies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strings.Repeat("x", 3<<20))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		limit   int64
		wantErr string
	}{{4 << 20, ""}, {1 << 20, "larger than 1 MiB"}} {
		c := &http.Client{Transport: limitBodies(http.DefaultTransport, tc.limit)}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		switch {
		case tc.wantErr == "" && (err != nil || len(body) != 3<<20):
			t.Errorf("limit %d: read %d bytes, error %v", tc.limit, len(body), err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || int64(len(body)) > tc.limit):
			t.Errorf("limit %d: read %d bytes, error %v; want %q", tc.limit, len(body), err, tc.wantErr)
		}
	}
}

func TestScopeQueries(t *testing.T) {
	in := []promQuery{
		{name: "rate", promQL: "sum by (namespace, model_name) (rate(vllm:request_success_total[1m]))"},
		{name: "age", promQL: "time() - max by (namespace, model_name) (timestamp(vllm:request_success_total))"},
		{name: "other", promQL: "sum(up)"},
	}
	got := scopeQueries(in, []string{"team-a", "b.c"})
	want := []string{
		`sum by (namespace, model_name) (rate(vllm:request_success_total{namespace=~"team-a|b\\.c"}[1m]))`,
		`time() - max by (namespace, model_name) (timestamp(vllm:request_success_total{namespace=~"team-a|b\\.c"}))`,
		"sum(up)",
	}
	for i := range want {
		if diff := cmp.Diff(want[i], got[i].promQL); diff != "" {
			t.Errorf("query %s (-want +got):\n%s", in[i].name, diff)
		}
	}
	if diff := cmp.Diff(in, scopeQueries(in, nil), cmp.AllowUnexported(promQuery{})); diff != "" {
		t.Errorf("without namespaces the queries change:\n%s", diff)
	}
}

func TestKeepNamespaces(t *testing.T) {
	a, b := modelgroup.Key{Namespace: "a", ModelID: "m"}, modelgroup.Key{Namespace: "b", ModelID: "m"}
	snap := &promSnapshot{groups: map[modelgroup.Key]promGroup{a: {available: true}, b: {available: true}}}
	snap.keepNamespaces([]string{"a"})
	if _, ok := snap.groups[b]; ok || len(snap.groups) != 1 {
		t.Errorf("groups after the filter: %v", snap.groups)
	}
}

// Issue 12, defect 3: a failing "requests within the retention" query marks
// only the groups that use that retention period; the others keep their
// reading.
func TestFailedRetentionQueryMarksOnlyItsGroups(t *testing.T) {
	cfg := testConfig("", func(c *config.Config) {
		c.ScaleToZero.Models = map[config.ModelRef]config.ScaleToZeroOverride{
			{ModelID: "b"}: {EnabledSet: true, Enabled: true, Retention: 30 * time.Second},
		}
	})
	fake := newFakeProm(cfg)
	srv := httptest.NewServer(fake)
	defer srv.Close()
	cfg.Operator.Prometheus.BaseURL = srv.URL
	s, _, _ := newTestSource(t, cfg)
	fake.setGroup(groupA, 5, 100, 10)
	fake.setGroup(groupB, 5, 100, 10)
	fake.setFail(queryRetentionPrefix+"30s", true)
	stats := refresh(t, s)
	if stats.Err != nil || stats.Failed != 1 {
		t.Fatalf("stats %+v, want one failed query and no refresh error", stats)
	}
	expectReason(t, s.Load(context.Background(), groupA, 0), true, llmdv1alpha1.ConditionReasonMetricsFound)
	r := s.Load(context.Background(), groupB, 30*time.Second)
	expectReason(t, r, false, llmdv1alpha1.ConditionReasonPrometheusError)
	if !strings.Contains(r.Message, "requests_in_30s") {
		t.Errorf("message %q does not name the query", r.Message)
	}
}
