package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/controller"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

// Defect 9: under --actuation=scale, a user who may create VAs but may not
// scale Deployments cannot make the operator scale one for them: the target
// must opt in (annotation llmd.ai/scaled-by naming the VA), and only someone
// who may edit the Deployment can add that.
func TestDefect9ConfusedDeputyIsRefused(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	const ns = "deputy"
	key := modelgroup.Key{Namespace: ns, ModelID: "deputy"}
	load.Set(key, busyLoad(40))
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	// The victim has not opted in; the other one names its VA.
	victim := framework.MakeDeployment("victim", ns).Replicas(3).Obj()
	optedIn := framework.MakeDeployment("opted-in", ns).Replicas(1).Obj()
	optedIn.Annotations = map[string]string{llmdv1alpha1.AnnotationScaledBy: "deputy-ok"}
	g.Expect(framework.CreateAll(ctx, env.Client, victim, optedIn)).To(Succeed())

	// A user who may manage VAs and read Deployments, nothing more.
	g.Expect(framework.CreateAll(ctx, env.Client,
		&rbacv1.Role{
			ObjectMeta: metav1.ObjectMeta{Name: "va-editor", Namespace: ns},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{llmdv1alpha1.GroupVersion.Group}, Resources: []string{"variantautoscalings"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
		&rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "va-editor", Namespace: ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "va-editor"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "mallory"}},
		},
	)).To(Succeed())
	cfg, _, err := env.AddUser("mallory")
	g.Expect(err).NotTo(HaveOccurred())
	mallory, err := client.New(cfg, client.Options{Scheme: framework.Scheme})
	g.Expect(err).NotTo(HaveOccurred())
	check := othersUnchanged(t, ns)

	// Mallory cannot scale the victim herself, nor opt it in.
	var d appsv1.Deployment
	g.Expect(mallory.Get(ctx, client.ObjectKey{Namespace: ns, Name: "victim"}, &d)).To(Succeed())
	d.Spec.Replicas = ptr.To[int32](0)
	g.Expect(apierrors.IsForbidden(mallory.Update(ctx, &d))).To(BeTrue(), "mallory may not scale Deployments")
	d.Spec.Replicas = ptr.To[int32](3)
	d.Annotations = map[string]string{llmdv1alpha1.AnnotationScaledBy: "deputy-evil"}
	g.Expect(apierrors.IsForbidden(mallory.Update(ctx, &d))).To(BeTrue(), "mallory may not opt a Deployment in")

	// But she may create a VA that would scale it to zero.
	g.Expect(mallory.Create(ctx, framework.MakeVA("deputy-evil", ns).Model("deputy").Target("victim").Max(0).Obj())).To(Succeed())
	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, ns, "deputy-evil")
		expectCondition(g, va, llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonActuationNotAllowed, llmdv1alpha1.AnnotationScaledBy)
	}).WithTimeout(timeout).Should(Succeed())
	g.Consistently(func(g Gomega) int32 { return env.DeploymentReplicas(g, ns, "victim") }).WithTimeout(quiet).Should(Equal(int32(3)), "the operator scaled a Deployment that did not opt in")

	// A target that opted in for the VA is scaled as usual.
	g.Expect(mallory.Create(ctx, framework.MakeVA("deputy-ok", ns).Model("deputy").Target("opted-in").Accelerator("L40S").Max(10).Obj())).To(Succeed())
	g.Eventually(func(g Gomega) int32 { return env.DeploymentReplicas(g, ns, "opted-in") }).WithTimeout(timeout).Should(BeNumerically(">", 1))
	check()
	deleteGroup(t, ns)
}

// Defect 10: when the VA that owns a contested target is deleted, the VA
// waiting for it (in another group) takes over at once, not after
// GLOBAL_OPT_INTERVAL (1h here).
func TestDefect10HandoverAfterTheOwnerIsDeleted(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	const ns = "handover"
	load.Set(modelgroup.Key{Namespace: ns, ModelID: "handover-a"}, busyLoad(5))
	load.Set(modelgroup.Key{Namespace: ns, ModelID: "handover-b"}, busyLoad(60))
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	g.Expect(framework.CreateAll(ctx, env.Client, optIn(framework.MakeDeployment("shared", ns).Replicas(1).Obj()),
		framework.MakeVA("a-owner", ns).Model("handover-a").Target("shared").Max(10).Obj())).To(Succeed())
	g.Eventually(func(g Gomega) { g.Expect(env.GetVA(g, ns, "a-owner").Status.DesiredReplicas).NotTo(BeNil()) }).WithTimeout(timeout).Should(Succeed())
	g.Expect(env.Client.Create(ctx, framework.MakeVA("b-heir", ns).Model("handover-b").Target("shared").Max(10).Obj())).To(Succeed())
	g.Eventually(func(g Gomega) {
		expectCondition(g, env.GetVA(g, ns, "b-heir"), llmdv1alpha1.ConditionTargetResolved, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonTargetConflict, "a-owner")
	}).WithTimeout(timeout).Should(Succeed())
	check := othersUnchanged(t, ns)

	g.Expect(env.Client.Delete(ctx, &llmdv1alpha1.VariantAutoscaling{ObjectMeta: metav1.ObjectMeta{Name: "a-owner", Namespace: ns}})).To(Succeed())
	start := time.Now()
	g.Eventually(func(g Gomega) {
		heir := env.GetVA(g, ns, "b-heir")
		expectCondition(g, heir, llmdv1alpha1.ConditionTargetResolved, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonTargetFound)
		g.Expect(heir.Status.DesiredReplicas).NotTo(BeNil())
	}).WithTimeout(10*time.Second).Should(Succeed(), "the heir was not re-planned after the owner's deletion")
	t.Logf("handover after %v", time.Since(start).Round(time.Millisecond))
	check()
	deleteGroup(t, ns)
}

// Defect 8: status is written with optimistic locking: a write from a stale
// copy conflicts, is retried on a fresh read, and leaves no field of an older
// write behind.
func TestDefect8StatusConflictIsRetriedWithFreshData(t *testing.T) {
	ctx := context.Background()
	g := NewWithT(t)
	const ns = "status"
	g.Expect(framework.CreateNamespace(ctx, env.Client, ns)).To(Succeed())
	// Not a member of any planned group: no load and no Deployment, so only
	// this test writes its status.
	va := framework.MakeVA("status-va", ns).Model("status").Obj()
	g.Expect(env.Client.Create(ctx, va)).To(Succeed())
	var stale llmdv1alpha1.VariantAutoscaling
	g.Eventually(func(g Gomega) {
		g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(va), &stale)).To(Succeed())
		g.Expect(stale.Status.Conditions).NotTo(BeEmpty(), "the operator wrote a first status")
	}).WithTimeout(timeout).Should(Succeed())

	// Another write lands after the copy was taken: a field the operator's
	// next status does not have.
	fresh := stale.DeepCopy()
	fresh.Status.Decision = &llmdv1alpha1.Decision{PredictedITL: "12345", Reason: llmdv1alpha1.ReasonOptimal}
	g.Expect(env.Client.Status().Update(ctx, fresh)).To(Succeed())

	want := stale.Status.DeepCopy()
	want.Decision = &llmdv1alpha1.Decision{CostPerHour: "7", Reason: llmdv1alpha1.ReasonBounds}
	conflicts, err := controller.WriteStatus(ctx, env.Client, env.Client, &stale, *want)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(conflicts).To(Equal(1), "the stale write must conflict once and be retried")

	var got llmdv1alpha1.VariantAutoscaling
	g.Expect(env.Client.Get(ctx, client.ObjectKeyFromObject(va), &got)).To(Succeed())
	g.Expect(got.Status.Decision).To(Equal(want.Decision), "the older write's predictedITL was left behind")
}

// Defect 6: a load source error far longer than a condition may hold (an
// error page of a proxy, say) is truncated; the status write succeeds and
// the rest of the group's status is current.
func TestDefect6LongErrorsAreTruncated(t *testing.T) {
	g := NewWithT(t)
	key := modelgroup.Key{Namespace: "long", ModelID: "long"}
	check := othersUnchanged(t, key.Namespace)
	huge := "upstream said: " + strings.Repeat("x", 100_000)
	load.SetUnavailable(key, llmdv1alpha1.ConditionReasonPrometheusError, huge)
	createGroup(t, key.Namespace, key.ModelID, []variant{{"long-h100", "H100", 2}}, nil)
	g.Eventually(func(g Gomega) {
		va := env.GetVA(g, key.Namespace, "long-h100")
		expectCondition(g, va, llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonPrometheusError, "upstream said")
		for _, c := range va.Status.Conditions {
			g.Expect(len(c.Message)).To(BeNumerically("<=", llmdv1alpha1.MaxConditionMessageLength), "condition %s", c.Type)
		}
		g.Expect(va.Status.DesiredReplicas).To(HaveValue(Equal(int32(2))), "held")
	}).WithTimeout(timeout).Should(Succeed())
	check()
	deleteGroup(t, key.Namespace)
}

// optIn marks a Deployment as sized by any VA of its namespace.
func optIn(d *appsv1.Deployment) *appsv1.Deployment {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[llmdv1alpha1.AnnotationScaledBy] = "*"
	return d
}
