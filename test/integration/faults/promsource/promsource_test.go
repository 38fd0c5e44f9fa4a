package promsource

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const timeout = 30 * time.Second

func createVariant(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	d := framework.MakeDeployment(name, ns).Replicas(replicas).Obj()
	d.Annotations = map[string]string{llmdv1alpha1.AnnotationScaledBy: "*"}
	g.Expect(framework.CreateAll(ctx, env.Client, d, framework.MakeVA(name, ns).Model("m").Max(10).Obj())).To(Succeed())
}

// Defect 7: with --watch-namespaces, the source asks Prometheus only about
// the watched namespaces and never reports, hence never enqueues, a group of
// another; the unwatched group is not touched.
func TestDefect7WatchNamespacesFilterTheSource(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(applyConfig(ctx, baseConfig())).To(Succeed())
	prom.set(0, [2]string{"watched", "m"}, [2]string{"unwatched", "m"})
	createVariant(t, "watched", "w", 1)
	createVariant(t, "unwatched", "u", 1)
	op, err := startOperator(t, nil, "watched")
	g.Expect(err).NotTo(HaveOccurred())

	g.Eventually(func(g Gomega) {
		c := meta.FindStatusCondition(env.GetVA(g, "watched", "w").Status.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(llmdv1alpha1.ConditionReasonMetricsFound), c.Message)
	}).WithTimeout(timeout).Should(Succeed())
	// Several refreshes later: no reconcile of the unwatched group, and every
	// query was restricted to the watched namespace.
	g.Consistently(func(g Gomega) {
		for key := range op.Reconciles.Snapshot() {
			g.Expect(key.Namespace).To(Equal("watched"), "a group outside --watch-namespaces was reconciled")
		}
	}).WithTimeout(5 * time.Second).Should(Succeed())
	queries, _ := prom.seen()
	g.Expect(queries).NotTo(BeEmpty())
	for _, q := range queries {
		if strings.Contains(q, "vllm:") {
			g.Expect(q).To(ContainSubstring(`namespace=~"watched"`), "query %s", q)
		}
	}
	u := env.GetVA(g, "unwatched", "u")
	g.Expect(u.Status.Conditions).To(BeEmpty(), "the unwatched VA was written")
	g.Expect(env.DeploymentReplicas(g, "unwatched", "u")).To(Equal(int32(1)))
}

// Defect 6: a Prometheus answer larger than the limit is cut off and
// reported (PrometheusError, a short message); replicas are held.
func TestDefect6HugePrometheusResponseIsCutOff(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(applyConfig(ctx, baseConfig())).To(Succeed())
	prom.set(256<<20, [2]string{"huge", "m"}) // 256 MiB per answer
	createVariant(t, "huge", "h", 2)
	_, err := startOperator(t, nil, "huge")
	g.Expect(err).NotTo(HaveOccurred())
	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, "huge", "h")
		c := meta.FindStatusCondition(va.Status.Conditions, llmdv1alpha1.ConditionMetricsAvailable)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Reason).To(Equal(llmdv1alpha1.ConditionReasonPrometheusError), c.Message)
		g.Expect(c.Message).To(ContainSubstring("larger than"))
		g.Expect(len(c.Message)).To(BeNumerically("<=", llmdv1alpha1.MaxConditionMessageLength))
	}).WithTimeout(timeout).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, "huge", "h") }).WithTimeout(3 * time.Second).Should(Equal(int32(2)))
}

// Defect 5: the token never goes over plain HTTP (the manager does not
// start, and says why), a ConfigMap cannot redirect it, and a secret in a
// ConfigMap URL is never echoed.
func TestDefect5TokenStaysWithTheOperator(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	g.Expect(applyConfig(ctx, baseConfig())).To(Succeed())
	prom.set(0, [2]string{"secret", "m"})

	// Token and a plain-HTTP URL in the environment: refused at start.
	_, err := startOperator(t, map[string]string{config.KeyPrometheusBaseURL: prom.URL(), config.KeyPrometheusBearerToken: "t0ken-s3cret"})
	g.Expect(err).To(MatchError(ContainSubstring("refusing to send the Prometheus token over plain HTTP")))
	g.Expect(err.Error()).NotTo(ContainSubstring("t0ken-s3cret"))
	_, auth := prom.seen()
	g.Expect(auth).To(BeEmpty(), "a token reached the plain-HTTP server")

	// The token in the ConfigMap is refused, and so is a secret in the URL.
	op, err := startOperator(t, nil)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(framework.PatchConfigMapKey(ctx, env.Client, config.OperatorConfigMapName, config.KeyPrometheusBearerToken, "cm-s3cret")).To(Succeed())
	expectConfigInvalidEvent(t, "read only from the manager's environment")
	g.Expect(framework.ApplyConfigMap(ctx, env.Client, config.OperatorConfigMapName, map[string]string{
		config.KeyPrometheusBaseURL: prom.URL() + "/api?access_token=url-s3cret",
	})).To(Succeed())
	expectConfigInvalidEvent(t, "must not contain a query")
	g.Expect(string(op.Store.Config().Operator.Prometheus.BearerToken)).To(BeEmpty())
	var events eventsv1.EventList
	g.Expect(env.Client.List(ctx, &events)).To(Succeed())
	for _, e := range events.Items {
		g.Expect(e.Note).NotTo(Or(ContainSubstring("cm-s3cret"), ContainSubstring("url-s3cret"), ContainSubstring("t0ken-s3cret")), "an Event leaks a secret")
	}
	_, auth = prom.seen()
	g.Expect(auth).To(BeEmpty())
}

func expectConfigInvalidEvent(t *testing.T, part string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(framework.ConfigNamespace))).To(Succeed())
		var notes []string
		for _, e := range events.Items {
			if e.Regarding.Name == config.OperatorConfigMapName && e.Reason == "ConfigInvalid" && e.Type == "Warning" {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(ContainSubstring(part)))
	}).WithTimeout(timeout).Should(Succeed())
}
