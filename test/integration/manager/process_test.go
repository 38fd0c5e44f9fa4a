package manager

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Models with an SLO in the shipped service-classes-config.
const modelLlama8B = "meta-llama/Llama-3.1-8B-Instruct"

// managerProcess is a running manager binary.
type managerProcess struct {
	cmd         *exec.Cmd
	output      *framework.SyncBuffer
	done        chan error
	metricsAddr string
	probeAddr   string
}

// freeAddr returns a local address nobody listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// startManager runs the built manager as the manager's ServiceAccount with
// free metrics and probe ports plus args; it is stopped (SIGTERM) when the
// test ends, and its output is logged when the test failed.
func startManager(t *testing.T, args ...string) *managerProcess {
	t.Helper()
	p := &managerProcess{output: &framework.SyncBuffer{}, done: make(chan error, 1), metricsAddr: freeAddr(t), probeAddr: freeAddr(t)}
	all := append([]string{
		"--kubeconfig=" + managerKubeconfig,
		"--metrics-bind-address=" + p.metricsAddr,
		"--health-probe-bind-address=" + p.probeAddr,
		"--load-source=synthetic",
		"--zap-log-level=info",
	}, args...)
	p.cmd = exec.Command(managerBin, all...)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the manager: %v", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("manager %v output:\n%s", all, p.output.String())
		}
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *managerProcess) stop(t *testing.T) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("the manager did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("the manager did not exit within 30s of SIGTERM (killed: %v)", <-p.done)
	}
}

// get fetches a URL of the manager; it returns the status code, or 0 when
// nothing answered.
func get(url, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, http.NoBody)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		// The manager serves a self-signed certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test against a local self-signed server
	}}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// createVariant creates a Deployment with the given replicas and a VA for it.
func createVariant(t *testing.T, ctx context.Context, ns, name string, replicas int32, va *framework.VAWrapper) {
	t.Helper()
	g := NewWithT(t)
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	g.Expect(framework.CreateAll(ctx, env.Client,
		framework.MakeDeployment(name, ns).Replicas(replicas).ScaledBy(name).Obj(), va.Obj())).To(Succeed())
}

// makeVA is a VA of the shipped Premium model on H100.
func makeVA(ns, name string) *framework.VAWrapper {
	return framework.MakeVA(name, ns).Model(modelLlama8B).Accelerator("H100").
		Profile(64, "6", "0.06", "12", "0.004")
}

// vaStatus reads a VA's status.
func vaStatus(ctx context.Context, ns, name string) func() (llmdv1alpha1.VariantAutoscalingStatus, error) {
	return func() (llmdv1alpha1.VariantAutoscalingStatus, error) {
		var va llmdv1alpha1.VariantAutoscaling
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &va)
		return va.Status, err
	}
}

// deployment reads a Deployment.
func deployment(ctx context.Context, ns, name string) func() (*appsv1.Deployment, error) {
	return func() (*appsv1.Deployment, error) {
		var d appsv1.Deployment
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &d)
		return &d, err
	}
}

func conditionStatus(st llmdv1alpha1.VariantAutoscalingStatus, condType string) string {
	for _, c := range st.Conditions {
		if c.Type == condType {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return ""
}

func desired(st llmdv1alpha1.VariantAutoscalingStatus) string {
	if st.DesiredReplicas == nil {
		return "<nil>"
	}
	return strconv.Itoa(int(*st.DesiredReplicas))
}
