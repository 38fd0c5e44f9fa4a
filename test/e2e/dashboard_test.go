//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	nsDash, modelDash = "e2e-dashboard", "model-dashboard"
	// dashboardDataEnv names a file to write the key panels' series to
	// (range queries over the test), for the docs' picture of the dashboard.
	dashboardDataEnv = "DASHBOARD_DATA_OUT"
)

// dashboardQuery is one PromQL target of the dashboard.
type dashboardQuery struct {
	Panel, Legend, Expr string
}

// dashboardQueries reads every target of config/grafana/variant-autoscaler.json.
func dashboardQueries(t *testing.T) []dashboardQuery {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "grafana", "variant-autoscaler.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr   string `json:"expr"`
				Legend string `json:"legendFormat"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var out []dashboardQuery
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, dashboardQuery{Panel: p.Title, Legend: tg.Legend, Expr: tg.Expr})
		}
	}
	if len(out) < 15 {
		t.Fatalf("the dashboard has %d queries; expected its panels", len(out))
	}
	return out
}

// grafanaVariables substitutes the dashboard's variables as Grafana does
// with "All" selected; the rate interval is a few scrape intervals.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "10s", "$__interval", "1s", "$namespace", ".*", "$model", ".*")

// promResult is the part of a Prometheus API answer the test reads.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		Result []struct {
			Metric map[string]string `json:"metric"`
			Value  []any             `json:"value"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func promQuery(ctx context.Context, base, path string, params url.Values) (promResult, error) {
	var r promResult
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(params.Encode()))
	if err != nil {
		return r, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if r.Status != "success" {
		return r, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	return r, nil
}

// Every panel of the Grafana dashboard is run against a real Prometheus
// that scrapes the vLLM emulator and the operator's own metrics endpoint
// while the operator plans a model whose load rises: no query fails, and
// every panel whose series the operator exports returns data.
func TestDashboardQueries(t *testing.T) {
	queries := dashboardQueries(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	g := NewWithT(t)
	began := time.Now()

	// The model's pods are its Deployments' ready pods.
	zero := 0
	emu, err := emulator.New(emulator.Schedule{Models: []emulator.ModelSchedule{{Namespace: nsDash, Model: modelDash, Replicas: &zero,
		Phases: []emulator.Phase{{Rate: 10, PromptTokens: 512, GenerationTokens: 128}}}}},
		emulator.WithReplicaSource(ready.source))
	g.Expect(err).NotTo(HaveOccurred())
	emuAddr := serveEmulator(ctx, t, emu)

	// The operator's series, as the manager serves them: controller-runtime's
	// registry holds the wva_* series, the load source's and the workqueues'.
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	g.Expect(err).NotTo(HaveOccurred())
	metricsSrv := &http.Server{Handler: promhttp.HandlerFor(crmetrics.Registry, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = metricsSrv.Serve(metricsLn) }()
	t.Cleanup(func() { _ = metricsSrv.Close() })

	prom := startPrometheus(ctx, t, vllmJob(emuAddr),
		// The operator's series carry the variant's namespace; keep it.
		cluster.ScrapeJob{Name: "variant-autoscaler", Targets: []string{metricsLn.Addr().String()}, HonorLabels: true})

	g.Expect(framework.CreateNamespace(ctx, env.Client, framework.ConfigNamespace)).To(Succeed())
	for name, data := range map[string]map[string]string{
		config.OperatorConfigMapName: {
			config.KeyGlobalOptInterval: "2s", config.KeyGlobalPassInterval: "5s", config.KeyStabilizationWindow: "0s",
			config.KeyPrometheusBaseURL: prom.URL(), config.KeyPrometheusStaleness: "10s", config.KeyPrometheusQueryTimeout: "2s",
		},
		config.UnitCostsConfigMapName:      {"H100": framework.UnitCost("NVIDIA-H100-80GB-HBM3", 100), "L40S": framework.UnitCost("NVIDIA-L40S", 30)},
		config.ServiceClassesConfigMapName: {"premium.yaml": framework.ServiceClass("Premium", 1, 500, 50, modelDash)},
		config.ScaleToZeroConfigMapName:    {},
	} {
		g.Expect(framework.ApplyConfigMap(ctx, env.Client, name, data)).To(Succeed())
	}
	cfg := config.NewStore(nil)
	source, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: cfg, RateWindow: rateWindow})
	g.Expect(err).NotTo(HaveOccurred())
	cfg.Subscribe(source.OnConfigChange)
	op, err := env.StartOperator(controller.Options{
		ConfigNamespace: framework.ConfigNamespace, Load: source, Actuation: controller.ActuationScale,
		Metrics: controller.DefaultMetrics(), Store: cfg,
	})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() {
		if err := op.Stop(); err != nil {
			t.Errorf("stopping the operator: %v", err)
		}
	})

	g.Expect(framework.CreateNamespace(ctx, env.Client, nsDash)).To(Succeed())
	var vas []*llmdv1alpha1.VariantAutoscaling
	var objs []client.Object
	for _, v := range []struct {
		name, accelerator string
		max               int32
	}{{"dash-h100", "H100", 10}, {"dash-l40s", "L40S", 2}} {
		va := framework.MakeVA(v.name, nsDash).Model(modelDash).Accelerator(v.accelerator).Max(v.max).Obj()
		dep := gpuDeployment(v.name, nsDash, modelDash, v.accelerator, 1)
		g.Expect(framework.CreateAll(ctx, env.Client, dep, va)).To(Succeed())
		vas = append(vas, va)
		objs = append(objs, va, dep)
	}
	// The other e2e tests count every VA of the cluster: leave nothing behind.
	t.Cleanup(func() {
		for _, o := range objs {
			if err := env.Client.Delete(context.Background(), o); err != nil {
				t.Errorf("deleting %s: %v", o.GetName(), err)
			}
		}
	})

	desiredTotal := func(g Gomega) int32 {
		total := int32(0)
		for _, va := range vas {
			cur := env.GetVA(g, nsDash, va.Name)
			c := meta.FindStatusCondition(cur.Status.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(llmdv1alpha1.ConditionReasonMetricsFound), c.Message)
			g.Expect(cur.Status.DesiredReplicas).NotTo(BeNil())
			total += *cur.Status.DesiredReplicas
		}
		return total
	}
	var before int32
	g.Eventually(func(g Gomega) { before = desiredTotal(g) }).WithTimeout(timeout).WithPolling(poll).Should(Succeed())
	// The load rises: the operator scales up while Prometheus watches.
	g.Expect(emu.SetPhases(nsDash, modelDash, []emulator.Phase{
		{Duration: emulator.Duration{Duration: rampTime}, Rate: peakRate, PromptTokens: 512, GenerationTokens: 128, Ramp: true},
	})).To(Succeed())
	g.Eventually(desiredTotal).WithTimeout(timeout).WithPolling(poll).Should(BeNumerically(">", before))
	t.Logf("desired replicas rose from %d with the load (setup and ramp took %v)", before, time.Since(began).Round(time.Millisecond))

	// Every query runs and returns data.
	results := map[string]int{}
	g.Eventually(func(g Gomega) {
		for _, q := range queries {
			expr := grafanaVariables.Replace(q.Expr)
			r, err := promQuery(ctx, prom.URL(), "/api/v1/query", url.Values{"query": {expr}})
			g.Expect(err).NotTo(HaveOccurred(), "panel %q: %s", q.Panel, expr)
			results[q.Expr] = len(r.Data.Result)
			g.Expect(r.Data.Result).NotTo(BeEmpty(), "panel %q (%s) returns no data", q.Panel, q.Legend)
		}
	}).WithTimeout(timeout).WithPolling(time.Second).Should(Succeed())
	for _, q := range queries {
		t.Logf("%-40s %-28s %d series", q.Panel, q.Legend, results[q.Expr])
	}

	if out := os.Getenv(dashboardDataEnv); out != "" {
		// For the picture, a whole cycle: up to the peak, down to a trickle,
		// until the operator has scaled down again.
		peak := before
		g.Eventually(func(g Gomega) { peak = max(peak, desiredTotal(g)); g.Expect(peak).To(BeNumerically(">=", 4)) }).
			WithTimeout(2 * timeout).WithPolling(poll).Should(Succeed())
		g.Expect(emu.SetPhases(nsDash, modelDash, []emulator.Phase{
			{Duration: emulator.Duration{Duration: 10 * time.Second}, Rate: peakRate, PromptTokens: 512, GenerationTokens: 128},
			{Duration: emulator.Duration{Duration: 2 * rampTime}, Rate: 5, PromptTokens: 512, GenerationTokens: 128, Ramp: true},
		})).To(Succeed())
		g.Eventually(desiredTotal).WithTimeout(3 * timeout).WithPolling(poll).Should(BeNumerically("<=", before))
		g.Expect(writeDashboardData(ctx, prom.URL(), queries, began, out)).To(Succeed())
		t.Logf("wrote the dashboard's series to %s", out)
	}
}

// dashboardSeries is one series of one panel over the test.
type dashboardSeries struct {
	Panel  string            `json:"panel"`
	Legend string            `json:"legend"`
	Labels map[string]string `json:"labels"`
	// Points are [unix seconds, value].
	Points [][2]float64 `json:"points"`
}

// writeDashboardData runs every query over the test's time range and writes
// the series as JSON (hack/dashboard -png draws them).
func writeDashboardData(ctx context.Context, base string, queries []dashboardQuery, from time.Time, path string) error {
	var out []dashboardSeries
	for _, q := range queries {
		r, err := promQuery(ctx, base, "/api/v1/query_range", url.Values{
			"query": {grafanaVariables.Replace(q.Expr)}, "start": {fmt.Sprint(from.Unix())},
			"end": {fmt.Sprint(time.Now().Unix())}, "step": {"1"},
		})
		if err != nil {
			return fmt.Errorf("panel %q: %w", q.Panel, err)
		}
		for _, s := range r.Data.Result {
			ds := dashboardSeries{Panel: q.Panel, Legend: q.Legend, Labels: s.Metric}
			for _, v := range s.Values {
				ts, ok1 := v[0].(float64)
				val, ok2 := v[1].(string)
				if !ok1 || !ok2 {
					return errors.New("unexpected sample in a range query answer")
				}
				f, err := strconv.ParseFloat(val, 64)
				if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
					continue // an empty histogram window is NaN: no point
				}
				ds.Points = append(ds.Points, [2]float64{ts, f})
			}
			out = append(out, ds)
		}
	}
	data, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
