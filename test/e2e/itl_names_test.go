//go:build linux

package e2e

// vLLM renamed its inter-token latency histogram in 0.11, from
// vllm:time_per_output_token_seconds to vllm:inter_token_latency_seconds;
// 0.11 exports both, later versions only the new name. The Prometheus
// source reads every pod under the name it exports, through a real
// Prometheus, and a pod exporting both once: its latency, and the requests
// in service the profile estimator reads from the latencies' sum.

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

func TestITLUnderEveryVLLMName(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns = "e2e-itl"
	// The same profile and load on each: the same latency whatever its name.
	byVersion := map[string][]string{
		"vllm-current":     {emulator.MetricITL},
		"vllm-0-11":        {emulator.MetricITL, emulator.MetricITLBefore011},
		"vllm-before-0-11": {emulator.MetricITLBefore011},
	}
	var targets []string
	for model, names := range byVersion {
		emu, err := emulator.New(emulator.Schedule{Models: []emulator.ModelSchedule{{Namespace: ns, Model: model,
			Phases: []emulator.Phase{{Rate: 4, PromptTokens: 512, GenerationTokens: 128}}}}}, emulator.WithITLNames(names...))
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
		for model := range byVersion {
			key := modelgroup.Key{Namespace: ns, ModelID: model}
			l := source.Load(ctx, key, 0)
			g.Expect(l.Available).To(BeTrue(), "%s: %+v", model, l)
			g.Expect(l.Load.ObservedITL).To(BeNumerically(">", 0), "%s: the group's ITL", model)
			itl[model] = l.Load.ObservedITL
			windows, _, _ := source.PodWindows(key)
			g.Expect(windows).To(HaveLen(1), "%s: the pod's window", model)
			for pod, w := range windows {
				g.Expect(w.ITL).To(BeNumerically("~", l.Load.ObservedITL, l.Load.ObservedITL*0.01), "%s/%s: the pod's ITL", model, pod)
				g.Expect(w.InService).To(BeNumerically(">", 0), "%s/%s: requests in service", model, pod)
				inService[model] = w.InService
			}
		}
		// Read once where a pod exports both: not summed twice.
		for model, v := range itl {
			g.Expect(v).To(BeNumerically("~", itl["vllm-current"], itl["vllm-current"]*0.05), "%s's ITL against the current vLLM's: %v", model, itl)
			g.Expect(inService[model]).To(BeNumerically("~", inService["vllm-current"], inService["vllm-current"]*0.1),
				"%s's requests in service against the current vLLM's: %v", model, inService)
		}
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
}
