// Package demo is the smoke test of `make demo`: the demo starts its own
// control plane, runs the operator on simulated load, and tears everything
// down, twice in a row.
package demo

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"go.uber.org/zap/zapcore"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/llm-d/variant-autoscaler/internal/demo"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestMain(m *testing.M) {
	if _, err := framework.AssetsDir(); err != nil {
		fmt.Fprintln(os.Stderr, "integration tests need a control plane:", err)
		os.Exit(1)
	}
	// The operator's errors, if any, go to the test's output.
	log.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	os.Exit(m.Run())
}

// With a duration the demo stops by itself, after every sample variant got
// desired replicas, and leaves nothing running.
func TestDemoDecidesForEveryVariant(t *testing.T) {
	g := NewWithT(t)
	out := &framework.SyncBuffer{}
	stateDir := t.TempDir()
	res, err := demo.Run(context.Background(), demo.Options{
		Duration: 30 * time.Second, Refresh: 5 * time.Second, StateDir: stateDir, Out: out, ReadyDelay: 2 * time.Second,
	})
	g.Expect(err).NotTo(HaveOccurred(), "demo output:\n%s", out.String())
	g.Expect(res.Interrupted).To(BeFalse())

	var decided []string
	for _, r := range res.Rows {
		if r.Desired != nil {
			decided = append(decided, r.Variant)
		}
	}
	g.Expect(decided).To(ConsistOf(demo.VariantNames()))
	g.Expect(len(demo.VariantNames())).To(BeNumerically(">=", 8))
	models, accelerators := map[string]bool{}, map[string]bool{}
	for _, r := range res.Rows {
		models[r.Model] = true
		accelerators[strings.TrimLeft(r.Accelerator, "0123456789x")] = true
	}
	g.Expect(models).To(HaveLen(3))
	g.Expect(accelerators).To(HaveKey("H100"))
	g.Expect(accelerators).To(HaveKey("A100"))
	g.Expect(accelerators).To(HaveKey("L40S"))

	text := out.String()
	g.Expect(text).To(ContainSubstring("--kubeconfig " + res.Kubeconfig + " get va -A"))
	g.Expect(text).To(ContainSubstring("edit va "))
	g.Expect(text).To(ContainSubstring("MODEL"))
	// Which profile each variant is planned with (ProfileLearned's reason):
	// the operator reads the demo servers' windows and learns.
	g.Expect(text).To(MatchRegexp(`REASON\s+PROFILE`))
	// The real controllers ran the workloads: pods of the variants got onto
	// the GPU nodes and became Ready, and the pools' free GPUs are shown.
	g.Expect(text).To(MatchRegexp(`READY\s+STARTING\s+PENDING`))
	g.Expect(text).To(MatchRegexp(`GPUs free: A100 \d+/16  H100 \d+/16  L40S \d+/8  MI300X \d+/8`))
	var ready int32
	for _, r := range res.Rows {
		ready += r.Ready
	}
	g.Expect(ready).To(BeNumerically(">", 0), "Ready pods at the end")
	g.Expect(text).To(ContainSubstring("OK: desired replicas were computed for all"))
	expectTornDown(g, res)
}

// An interrupt (Ctrl-C) stops a demo without a duration cleanly; a second
// run in the same process works.
func TestDemoStopsOnInterrupt(t *testing.T) {
	g := NewWithT(t)
	out := &framework.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type outcome struct {
		res *demo.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := demo.Run(ctx, demo.Options{Refresh: time.Second, StateDir: t.TempDir(), Out: out})
		done <- outcome{res, err}
	}()
	// Running: the table shows up.
	g.Eventually(out.String).WithTimeout(2 * time.Minute).WithPolling(200 * time.Millisecond).
		Should(ContainSubstring("VARIANT"))
	cancel()
	var o outcome
	g.Eventually(done).WithTimeout(time.Minute).Should(Receive(&o))
	g.Expect(o.err).NotTo(HaveOccurred(), "demo output:\n%s", out.String())
	g.Expect(o.res.Interrupted).To(BeTrue())
	expectTornDown(g, o.res)
}

// expectTornDown checks that the kubeconfig is gone and the API server no
// longer answers.
func expectTornDown(g *WithT, res *demo.Result) {
	_, err := os.Stat(res.Kubeconfig)
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the kubeconfig %s is left behind", res.Kubeconfig)
	g.Expect(res.APIServer).NotTo(BeEmpty())
	conn, err := net.DialTimeout("tcp", res.APIServer, time.Second)
	if err == nil {
		_ = conn.Close()
	}
	g.Expect(err).To(HaveOccurred(), "the API server at %s still answers", res.APIServer)
}
