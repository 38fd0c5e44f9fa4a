package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// TestPrometheusScrapesLoopbackTargets: the built Prometheus scrapes a
// loopback target with honor_labels, so a series keeps its own namespace
// label, and answers queries.
func TestPrometheusScrapesLoopbackTargets(t *testing.T) {
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "wva_desired_replicas"}, []string{"namespace", "variant_name"})
	gauge.With(prometheus.Labels{"namespace": "llm-serving", "variant_name": "v"}).Set(21)
	reg := prometheus.NewRegistry()
	reg.MustRegister(gauge)
	target := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer target.Close()

	assets, err := framework.AssetsDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	prom, err := cluster.StartPrometheus(context.Background(), assets, dir, time.Second, strings.TrimPrefix(target.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := prom.Stop(); err != nil {
			t.Error(err)
		}
		_ = os.RemoveAll(dir)
	}()
	if _, err := cluster.StartPrometheus(context.Background(), assets, t.TempDir(), time.Second, "10.1.2.3:80"); err == nil {
		t.Error("a target off loopback was accepted")
	}

	NewWithT(t).Eventually(func(g Gomega) {
		resp, err := http.Get(prom.URL + "/api/v1/query?query=" + url.QueryEscape(`wva_desired_replicas{namespace="llm-serving",variant_name="v"}`))
		g.Expect(err).NotTo(HaveOccurred())
		defer func() { _ = resp.Body.Close() }()
		var body struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		g.Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
		g.Expect(body.Data.Result).To(HaveLen(1))
		g.Expect(fmt.Sprint(body.Data.Result[0].Value[1])).To(Equal("21"))
	}).WithTimeout(30 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
}
