//go:build linux

package e2e

// The Prometheus source reads vLLM's servers as each version exports them,
// through a real Prometheus:
//   - vLLM 0.11 renamed its inter-token latency histogram from
//     vllm:time_per_output_token_seconds to vllm:inter_token_latency_seconds;
//     0.11 exports both (read once), later versions only the new name;
//   - a data-parallel vLLM runs several engines in a pod, labelled engine:
//     each is a server of its own to the profile estimator, with its own
//     batch, not the pod's sum;
//   - the request counter has a series per finished_reason (and engine):
//     the pods reporting are counted as pods, not series.

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestVLLMVersionsReadAlike(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns, reference = "e2e-vllm", "vllm-current"
	// One pod each, the same profile and the same load per server: the same
	// latency and batch on every server, whatever the names and engines.
	cases := map[string]struct {
		itlNames    []string
		engines     int
		wantServers []string
	}{
		reference:            {itlNames: []string{emulator.MetricITL}, wantServers: []string{"pod-0"}},
		"vllm-0-11":          {itlNames: []string{emulator.MetricITL, emulator.MetricITLBefore011}, wantServers: []string{"pod-0"}},
		"vllm-before-0-11":   {itlNames: []string{emulator.MetricITLBefore011}, wantServers: []string{"pod-0"}},
		"vllm-data-parallel": {itlNames: []string{emulator.MetricITL}, engines: 2, wantServers: []string{"pod-0/0", "pod-0/1"}},
	}
	var targets []string
	for model, tc := range cases {
		rate := 4 * float64(max(tc.engines, 1))
		emu, err := emulator.New(emulator.Schedule{Models: []emulator.ModelSchedule{{Namespace: ns, Model: model,
			Phases: []emulator.Phase{{Rate: rate, PromptTokens: 512, GenerationTokens: 128}}}}},
			emulator.WithITLNames(tc.itlNames...), emulator.WithEnginesPerPod(tc.engines))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, serveEmulator(ctx, t, emu))
	}
	prom := startPrometheus(ctx, t, cluster.ScrapeJob{Name: "vllm", Targets: targets})
	store := config.NewStore(nil)
	if _, err := store.Update(config.OperatorConfigMapName, map[string]string{
		config.KeyPrometheusBaseURL: prom.URL(), config.KeyPrometheusStaleness: "10s",
	}); err != nil {
		t.Fatal(err)
	}
	source, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: store, RateWindow: rateWindow, PodWindows: true, ProfileWindow: rateWindow})
	if err != nil {
		t.Fatal(err)
	}

	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		_, err := source.Refresh(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		itl, inService := map[string]float64{}, map[string]float64{}
		for model, tc := range cases {
			key := modelgroup.Key{Namespace: ns, ModelID: model}
			l := source.Load(ctx, key, 0)
			g.Expect(l.Available).To(BeTrue(), "%s: %+v", model, l)
			g.Expect(l.Load.ObservedITL).To(BeNumerically(">", 0), "%s: the group's ITL", model)
			// One pod, however many series of the request counter it has
			// (finished reasons, engines).
			g.Expect(l.Load.Pods).To(Equal(1), "%s: pods reporting", model)
			itl[model] = l.Load.ObservedITL
			windows, _, _ := source.PodWindows(key)
			g.Expect(windows).To(HaveLen(len(tc.wantServers)), "%s: a window per server", model)
			for _, server := range tc.wantServers {
				w, ok := windows[server]
				g.Expect(ok).To(BeTrue(), "%s: no window of %s in %v", model, server, windows)
				g.Expect(w.ITL).To(BeNumerically("~", l.Load.ObservedITL, l.Load.ObservedITL*0.01), "%s/%s: the server's ITL", model, server)
				g.Expect(w.InService).To(BeNumerically(">", 0), "%s/%s: requests in service", model, server)
				inService[model+"/"+server] = w.InService
			}
		}
		want := inService[reference+"/pod-0"]
		for model, v := range itl {
			g.Expect(v).To(BeNumerically("~", itl[reference], itl[reference]*0.05), "%s's ITL against the current vLLM's: %v", model, itl)
		}
		for server, v := range inService {
			g.Expect(v).To(BeNumerically("~", want, want*0.1), "%s's requests in service against one current vLLM's: %v", server, inService)
		}
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
}
