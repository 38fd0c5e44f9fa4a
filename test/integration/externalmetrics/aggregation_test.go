// Package externalmetrics proves the operator's external-metrics endpoint
// behind a real kube-apiserver: registered with an APIService whose Service
// is an ExternalName for 127.0.0.1, it answers
// /apis/external.metrics.k8s.io through the aggregation layer, authenticating
// the aggregator's front-proxy certificate and authorizing the user it names.
package externalmetrics

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	. "github.com/onsi/gomega"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/metrics/pkg/apis/external_metrics/v1beta1"

	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/externalmetrics"
	"github.com/llm-d/variant-autoscaler/internal/cluster"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var (
	env     *framework.Env
	metrics = controller.NewMetrics()
	// port is where the endpoint listens, on loopback.
	port int
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "va-extmetrics-")
	if err != nil {
		panic(err)
	}
	defer func() { _ = os.RemoveAll(dir) }()
	flags, err := cluster.WorkloadAPIServerFlags(dir)
	if err != nil {
		panic(err)
	}
	framework.Main(m, framework.Options{APIServerFlags: flags}, func(e *framework.Env) (func() error, error) {
		env = e
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() {
			served <- externalmetrics.Run(ctx, externalmetrics.Options{BindAddress: fmt.Sprintf("127.0.0.1:%d", port), Config: e.Config},
				&externalmetrics.Provider{Desired: metrics.DesiredReplicas})
		}()
		tearDown := func() error { cancel(); return <-served }
		if err := framework.CreateNamespace(ctx, e.Client, "wva-system"); err != nil {
			return tearDown, err
		}
		return tearDown, cluster.RegisterLoopbackAPIService(ctx, e.Client, "external.metrics.k8s.io", "v1beta1", "wva-system", "wva-external-metrics", int32(port))
	})
}

// waitAvailable waits for the aggregator to find the endpoint available.
func waitAvailable(g *WithT) {
	g.Eventually(func(g Gomega) {
		ok, msg, err := cluster.APIServiceAvailable(context.Background(), env.Client, cluster.ExternalMetricsAPIService)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue(), msg)
	}).WithTimeout(time.Minute).Should(Succeed())
}

// TestDirectCallsAreRefused: a caller that reaches the endpoint without the
// aggregator's front-proxy certificate is refused, whatever user and groups
// its headers claim.
func TestDirectCallsAreRefused(t *testing.T) {
	g := NewWithT(t)
	waitAvailable(g)
	// The self-signed serving certificate is what the APIService skips
	// verifying too.
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second} //nolint:gosec // the test's own server on loopback
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/apis/external.metrics.k8s.io/v1beta1/namespaces/llm-serving/wva_desired_replicas", port), http.NoBody)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Remote-User", "admin")
	req.Header.Add("X-Remote-Group", "system:masters")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var status metav1.Status
	if err := json.NewDecoder(resp.Body).Decode(&status); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized || status.Reason != metav1.StatusReasonUnauthorized {
		t.Errorf("a direct call claiming system:masters: %d %+v, want 401 Unauthorized", resp.StatusCode, status)
	}
	if resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d/healthz", port)); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %v %v, want 200", resp, err)
	} else {
		_ = resp.Body.Close()
	}
}

func query(cs kubernetes.Interface, ns, selector string) (*v1beta1.ExternalMetricValueList, error) {
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces", ns, "wva_desired_replicas").
		Param("labelSelector", selector).DoRaw(context.Background())
	if err != nil {
		return nil, err
	}
	var list v1beta1.ExternalMetricValueList
	return &list, json.Unmarshal(raw, &list)
}

// TestServedThroughTheAggregator: the APIService becomes Available and a
// query through kube-apiserver returns the operator's value for the selected
// variant of the namespace.
func TestServedThroughTheAggregator(t *testing.T) {
	g := NewWithT(t)
	waitAvailable(g)

	labels := controller.VariantSeries{Namespace: "llm-serving", Variant: "llama-8b-h100", TargetKind: "Deployment",
		TargetName: "llama-8b-h100", Accelerator: "H100", Model: "meta-llama/Llama-3.1-8B-Instruct"}
	metrics.DesiredReplicas.Set(labels, 21)
	other := labels
	other.Namespace = "elsewhere"
	metrics.DesiredReplicas.Set(other, 5)

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	list, err := query(cs, "llm-serving", "variant_name=llama-8b-h100,target_kind=Deployment,target_name=llama-8b-h100")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range list.Items {
		got = append(got, fmt.Sprintf("%s %s=%s", v.MetricName, v.MetricLabels["namespace"], v.Value.String()))
	}
	if diff := cmp.Diff([]string{"wva_desired_replicas llm-serving=21"}, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

// TestUnauthorizedUserIsRefused: the endpoint authorizes the user the
// aggregator names with a SubjectAccessReview, so a user without RBAC on
// external.metrics.k8s.io gets 403 and one with it gets the value.
func TestUnauthorizedUserIsRefused(t *testing.T) {
	ctx := context.Background()
	cfg, _, err := env.AddUser("reader")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := NewWithT(t)
	waitAvailable(g)
	if _, err := query(cs, "llm-serving", "variant_name=x"); err == nil {
		t.Fatal("a user without RBAC read external metrics")
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "external-metrics-reader"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"external.metrics.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list"}}}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "external-metrics-reader"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: "User", Name: "reader"}}}
	if err := framework.CreateAll(ctx, env.Client, role, binding); err != nil {
		t.Fatal(err)
	}
	g.Eventually(func() error { _, err := query(cs, "llm-serving", "variant_name=x"); return err }).WithTimeout(30 * time.Second).Should(Succeed())
}
