package manager

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	externalv1beta1 "k8s.io/metrics/pkg/apis/external_metrics/v1beta1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	reconcileTimeout = 60 * time.Second
	poll             = 250 * time.Millisecond
	// quiet is how long "nothing happens" is watched for.
	quiet = 5 * time.Second
)

func optimized(st llmdv1alpha1.VariantAutoscalingStatus) string {
	return conditionStatus(st, llmdv1alpha1.ConditionOptimized)
}

// The manager, run as its ServiceAccount with only the RBAC of config/rbac,
// reconciles a group end to end: status, /scale, Events and its Lease. Any
// request RBAC refused would show up as "forbidden" in its log.
func TestReconcilesWithShippedRBACOnly(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns, name = "rbac-test", "llama-h100"
	// minReplicas 2 on a 1-replica Deployment: the plan must scale it up.
	createVariant(t, ctx, ns, name, 1, makeVA(ns, name).Min(2).Max(6))
	p := startManager(t, "--actuation=scale", "--leader-elect")

	g.Eventually(vaStatus(ctx, ns, name)).WithTimeout(reconcileTimeout).WithPolling(poll).Should(SatisfyAll(
		WithTransform(optimized, Equal("True/"+llmdv1alpha1.ConditionReasonSucceeded)),
		WithTransform(func(st llmdv1alpha1.VariantAutoscalingStatus) string {
			return conditionStatus(st, llmdv1alpha1.ConditionTargetResolved)
		}, Equal("True/"+llmdv1alpha1.ConditionReasonTargetFound)),
		WithTransform(func(st llmdv1alpha1.VariantAutoscalingStatus) int32 { return ptr.Deref(st.DesiredReplicas, -1) },
			BeNumerically(">=", 2)),
	))

	// --actuation=scale: the Deployment follows the decision through /scale.
	g.Eventually(func(g Gomega) {
		st, err := vaStatus(ctx, ns, name)()
		g.Expect(err).NotTo(HaveOccurred())
		d, err := deployment(ctx, ns, name)()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(d.Spec.Replicas).To(Equal(st.DesiredReplicas))
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(Succeed())

	// An Event on the VA says it was scaled up.
	g.Eventually(func() ([]string, error) {
		var events eventsv1.EventList
		err := env.Client.List(ctx, &events, client.InNamespace(ns))
		var reasons []string
		for _, e := range events.Items {
			if e.Regarding.Name == name {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons, err
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(ContainElement("ScaledUp"))

	// --leader-elect: the Lease is held in the config namespace.
	g.Eventually(func() (string, error) {
		var lease coordinationv1.Lease
		err := env.Client.Get(ctx, client.ObjectKey{Namespace: config.DefaultNamespace, Name: "variant-autoscaler.llmd.ai"}, &lease)
		return ptr.Deref(lease.Spec.HolderIdentity, ""), err
	}).WithTimeout(reconcileTimeout).WithPolling(poll).ShouldNot(BeEmpty())

	// Liveness and readiness.
	for _, path := range []string{"/healthz", "/readyz"} {
		g.Eventually(func() int {
			code, _ := get("http://"+p.probeAddr+path, "")
			return code
		}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(Equal(200), path)
	}

	g.Expect(p.output.String()).NotTo(ContainSubstring("forbidden"))
	g.Expect(p.output.String()).To(ContainSubstring("Starting reconciliation"))
}

// --watch-namespaces=a: VAs in other namespaces are never touched. The
// manager runs without a client-side limiter (--kube-api-qps=-1) here.
func TestWatchNamespacesIgnoresOthers(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const watched, ignored, name = "watch-a", "watch-b", "llama-h100"
	createVariant(t, ctx, watched, name, 1, makeVA(watched, name).Min(2))
	createVariant(t, ctx, ignored, name, 1, makeVA(ignored, name).Min(2))
	before, err := deployment(ctx, ignored, name)()
	g.Expect(err).NotTo(HaveOccurred())

	startManager(t, "--watch-namespaces="+watched, "--actuation=scale", "--kube-api-qps=-1")

	g.Eventually(vaStatus(ctx, watched, name)).WithTimeout(reconcileTimeout).WithPolling(poll).
		Should(WithTransform(desired, Not(Equal("<nil>"))))
	g.Consistently(vaStatus(ctx, ignored, name)).WithTimeout(quiet).WithPolling(poll).
		Should(Equal(llmdv1alpha1.VariantAutoscalingStatus{}))
	g.Consistently(func() (int64, error) {
		d, err := deployment(ctx, ignored, name)()
		return d.Generation, err
	}).WithTimeout(time.Second).WithPolling(poll).Should(Equal(before.Generation))
}

// --dry-run: the decision is reported, the Deployment is never written, and
// wva_desired_replicas carries the Deployment's own replicas.
func TestDryRunNeverActuates(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns, name = "dry-run", "llama-h100"
	createVariant(t, ctx, ns, name, 1, makeVA(ns, name).Min(3).Max(6))
	before, err := deployment(ctx, ns, name)()
	g.Expect(err).NotTo(HaveOccurred())

	p := startManager(t, "--dry-run", "--actuation=scale", "--watch-namespaces="+ns, "--metrics-secure=false")

	g.Eventually(vaStatus(ctx, ns, name)).WithTimeout(reconcileTimeout).WithPolling(poll).Should(SatisfyAll(
		WithTransform(optimized, HavePrefix("True/")),
		WithTransform(func(st llmdv1alpha1.VariantAutoscalingStatus) int32 { return ptr.Deref(st.DesiredReplicas, -1) },
			BeNumerically(">=", 3)),
	))
	g.Consistently(func() (any, error) {
		d, err := deployment(ctx, ns, name)()
		return []any{d.Generation, ptr.Deref(d.Spec.Replicas, -1)}, err
	}).WithTimeout(quiet).WithPolling(poll).Should(Equal([]any{before.Generation, int32(1)}))

	// Plain HTTP metrics (--metrics-secure=false): the group was evaluated,
	// nothing was published for an HPA.
	g.Eventually(func() string {
		_, body := get("http://"+p.metricsAddr+"/metrics", "")
		return body
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(MatchRegexp(`(?m)^wva_variant_evaluations_total [1-9]`))
	// The series hands the workload back: it carries the workload's own
	// replicas, never the decision.
	_, body := get("http://"+p.metricsAddr+"/metrics", "")
	g.Expect(body).To(MatchRegexp(`(?m)^wva_desired_replicas\{[^}]*variant_name="llama-h100"[^}]*\} 1$`))
}

// The secure metrics endpoint (the default) refuses a scrape without a
// token or with a token of someone not bound to metrics-reader, and serves
// one bound to the shipped metrics-reader ClusterRole.
func TestMetricsEndpointAuthenticatesAndAuthorizes(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns = "metrics-test"
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	p := startManager(t, "--watch-namespaces="+ns)
	url := "https://" + p.metricsAddr + "/metrics"

	// Without a token.
	g.Eventually(func() int {
		code, _ := get(url, "")
		return code
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(BeElementOf(401, 403))

	scraper, stranger := serviceAccountToken(t, ctx, ns, "scraper"), serviceAccountToken(t, ctx, ns, "stranger")
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-test-scraper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: ns}},
	}
	g.Expect(env.Client.Create(ctx, binding)).To(Succeed())
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), binding) })

	g.Eventually(func(g Gomega) {
		code, body := get(url, scraper)
		g.Expect(code).To(Equal(200))
		// The shipped ConfigMaps are valid as the operator reads them.
		for _, name := range config.Names() {
			g.Expect(body).To(ContainSubstring(`wva_config_valid{configmap="` + name + `"} 1`))
		}
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(Succeed())

	code, _ := get(url, stranger)
	g.Expect(code).To(Equal(403))
}

// serviceAccountToken creates a ServiceAccount and returns a token for it.
func serviceAccountToken(t *testing.T, ctx context.Context, ns, name string) string {
	t.Helper()
	g := NewWithT(t)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	g.Expect(env.Client.Create(ctx, sa)).To(Succeed())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)}}
	g.Expect(env.Client.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	g.Expect(tr.Status.Token).NotTo(BeEmpty())
	return tr.Status.Token
}

// A command line that does not validate exits with code 2 and says why,
// before talking to any API server; --help exits 0.
func TestInvalidFlagsExitNonZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--actuation=hpa"}, `--actuation "hpa": must be "metrics" or "scale"`},
		{[]string{"--load-source=psychic"}, `--load-source "psychic": must be one of none, prometheus, synthetic`},
		{[]string{"--watch-namespaces=ok,Not_OK"}, `--watch-namespaces: "Not_OK" is not a valid namespace name`},
		{[]string{"--max-concurrent-reconciles=0"}, "--max-concurrent-reconciles 0: must be at least 1"},
		{[]string{"--status-writers=0"}, "--status-writers 0: must be at least 1"},
		{[]string{"--kube-api-qps=-2"}, "--kube-api-qps -2: must be greater than 0, or -1 (no client-side limiter)"},
		{[]string{"--kube-api-qps=0"}, "--kube-api-qps 0: must be greater than 0, or -1"},
		{[]string{"--metrics-bind-address=8443"}, `--metrics-bind-address: "8443" is not host:port`},
		{[]string{"--pprof-bind-address=6060"}, `--pprof-bind-address: "6060" is not host:port`},
		{[]string{"--memory-limit-ratio=1.5"}, "--memory-limit-ratio 1.5: must be from 0 (off) to 1"},
		{[]string{"--gc-percent=5"}, "--gc-percent 5: must be from 10 to 1000"},
		{[]string{"--profile-window=10s"}, "--profile-window 10s: must be from 1m0s to 1h0m0s"},
		{[]string{"--profile-memory=4m"}, "--profile-memory 4m0s: must be from 5 profile windows (5m0s) to 24h0m0s"},
		{[]string{"--profile-window=10m", "--profile-memory=40m"}, "--profile-memory 40m0s: must be from 5 profile windows (50m0s) to 24h0m0s"},
		{[]string{"--profile-memory=25h"}, "--profile-memory 25h0m0s: must be from 5 profile windows (5m0s) to 24h0m0s"},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			g := NewWithT(t)
			out, err := exec.Command(managerBin, tc.args...).CombinedOutput()
			var exit *exec.ExitError
			g.Expect(errors.As(err, &exit)).To(BeTrue(), "exit status: %v; output:\n%s", err, out)
			g.Expect(exit.ExitCode()).To(Equal(2))
			g.Expect(string(out)).To(ContainSubstring(tc.want))
		})
	}
	t.Run("--help", func(t *testing.T) {
		g := NewWithT(t)
		out, err := exec.Command(managerBin, "--help").CombinedOutput()
		g.Expect(err).NotTo(HaveOccurred())
		for _, flag := range []string{"metrics-bind-address", "metrics-secure", "health-probe-bind-address", "leader-elect",
			"leader-election-namespace", "watch-namespaces", "config-namespace", "actuation", "dry-run",
			"max-concurrent-reconciles", "status-writers", "kube-api-qps", "kube-api-burst", "load-source", "kubeconfig", "zap-log-level",
			"external-metrics-bind-address", "external-metrics-cert-dir", "pprof-bind-address", "memory-limit-ratio", "gc-percent", "gateway-allow-insecure-credentials",
			"profile-window", "profile-memory"} {
			g.Expect(string(out)).To(MatchRegexp(`(?m)^  -`+flag+`(\s|$)`), flag)
		}
	})
}

// The manager serves external metrics with the RBAC of config/rbac and
// config/externalmetrics only: through the aggregator, the value for a
// variant is the replica count its status says.
func TestExternalMetricsWithShippedRBAC(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	const ns, name = "extmetrics-test", "llama-a100"
	delegator, err := os.ReadFile(filepath.Join(framework.RepoRoot(), "config", "externalmetrics", "auth_delegator.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Kubectl(ctx, string(delegator), "apply", "-f", "-"); err != nil {
		t.Fatalf("applying config/externalmetrics/auth_delegator.yaml: %v", err)
	}
	createVariant(t, ctx, ns, name, 1, makeVA(ns, name).Min(2).Max(6))
	addr := freeAddr(t)
	startManager(t, "--external-metrics-bind-address="+addr)
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	if err := cluster.RegisterLoopbackAPIService(ctx, env.Client, "external.metrics.k8s.io", "v1beta1", config.DefaultNamespace, "wva-external-metrics", int32(port)); err != nil {
		t.Fatal(err)
	}
	// Registered after the manager, so removed before it stops: an APIService
	// without its server would break discovery for the tests after this one.
	t.Cleanup(func() {
		as := &unstructured.Unstructured{}
		as.SetAPIVersion("apiregistration.k8s.io/v1")
		as.SetKind("APIService")
		as.SetName(cluster.ExternalMetricsAPIService)
		if err := env.Client.Delete(ctx, as); err != nil {
			t.Errorf("deleting the APIService: %v", err)
		}
	})

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	g.Eventually(func(g Gomega) {
		st, err := vaStatus(ctx, ns, name)()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(st.DesiredReplicas).NotTo(BeNil())
		raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces", ns, "wva_desired_replicas").
			Param("labelSelector", "variant_name="+name).DoRaw(ctx)
		g.Expect(err).NotTo(HaveOccurred())
		var list externalv1beta1.ExternalMetricValueList
		g.Expect(json.Unmarshal(raw, &list)).To(Succeed())
		g.Expect(list.Items).To(HaveLen(1))
		g.Expect(list.Items[0].Value.Value()).To(BeEquivalentTo(*st.DesiredReplicas))
	}).WithTimeout(reconcileTimeout).WithPolling(poll).Should(Succeed())
}
