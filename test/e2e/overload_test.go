//go:build linux

package e2e

// A vLLM server offered more than it can serve finishes requests at its
// throughput and queues the rest. Read through a real Prometheus, the
// completions then stay at what the replicas already carry; the source
// reads the rate at which requests arrive (completions plus the growth of
// the queues), so that the plan sizes for the demand in one step rather
// than creeping up one plan at a time, and it reads the queue, which the
// plan drains on top (BACKLOG_DRAIN_TIME). No gateway reports the model
// here: its arrival count would otherwise be used.

import (
	"context"
	"net/url"
	"strconv"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/internal/emulator"
	"github.com/llm-d/variant-autoscaler/loadsource"
	"github.com/llm-d/variant-autoscaler/modelgroup"
)

func TestOverloadedServersReadAtTheirArrivalRate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	const ns, model = "e2e-overload", "overloaded"
	capacity := emulator.DefaultProfile.Capacity(512, 128)
	offered := 2 * capacity
	emu, err := emulator.New(emulator.Schedule{Models: []emulator.ModelSchedule{{Namespace: ns, Model: model,
		Phases: []emulator.Phase{{Rate: offered, PromptTokens: 512, GenerationTokens: 128}}}}},
		emulator.WithoutGateway(ns))
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(ctx, t, vllmJob(serveEmulator(ctx, t, emu)))
	store := config.NewStore(nil)
	if _, err := store.Update(config.OperatorConfigMapName, map[string]string{
		config.KeyPrometheusBaseURL: prom.URL(), config.KeyPrometheusStaleness: "10s",
	}); err != nil {
		t.Fatal(err)
	}
	source, err := loadsource.NewPrometheus(loadsource.PrometheusOptions{Config: store, RateWindow: rateWindow})
	if err != nil {
		t.Fatal(err)
	}
	key := modelgroup.Key{Namespace: ns, ModelID: model}
	instant := func(g Gomega, query string) float64 {
		r, err := promQuery(ctx, prom.URL(), "/api/v1/query", url.Values{"query": {query}})
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(r.Data.Result).To(HaveLen(1), "%s", query)
		v, err := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
		g.Expect(err).NotTo(HaveOccurred())
		return v
	}

	g := NewWithT(t)
	g.Eventually(func(g Gomega) {
		_, err := source.Refresh(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		l := source.Load(ctx, key, 0)
		g.Expect(l.Available).To(BeTrue(), "%+v", l)
		// The pod is saturated: it finishes at its capacity and its queue grows.
		completions := instant(g, `sum(rate(vllm:request_success_total[10s]))`)
		g.Expect(completions).To(BeNumerically("~", capacity, 0.1*capacity), "completions, req/s")
		waiting := instant(g, `sum(vllm:num_requests_waiting)`)
		g.Expect(waiting).To(BeNumerically(">", 2*capacity), "requests waiting")
		g.Expect(l.Load.ArrivalRate).To(BeNumerically("~", offered, 0.15*offered),
			"the source's arrival rate, with completions at %.1f req/s", completions)
		// And the queue itself, which the plan drains on top of the arrivals
		// (read a moment before the check's own query, while it grows).
		g.Expect(l.Load.ServerWaiting).To(BeNumerically("~", waiting, 0.2*waiting), "the source's requests waiting")
	}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
}
