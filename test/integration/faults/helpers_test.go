package faults

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const (
	timeout = 20 * time.Second
	// quiet is how long "nothing else changes" is watched.
	quiet = 3 * time.Second
)

// variant is one VA with its Deployment.
type variant struct {
	name, accelerator string
	replicas          int32
}

// createGroup creates a namespace and a group of variants of model in it;
// edit may change each VA before it is created.
func createGroup(t *testing.T, ns, model string, variants []variant, edit func(*framework.VAWrapper)) {
	t.Helper()
	if err := createGroupErr(context.Background(), ns, model, variants, edit); err != nil {
		t.Fatal(err)
	}
}

func createGroupErr(ctx context.Context, ns, model string, variants []variant, edit func(*framework.VAWrapper)) error {
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		return err
	}
	for _, v := range variants {
		w := framework.MakeVA(v.name, ns).Model(model).Accelerator(v.accelerator).Max(10)
		if edit != nil {
			edit(w)
		}
		if err := framework.CreateAll(ctx, env.Client, optIn(framework.MakeDeployment(v.name, ns).Replicas(v.replicas).Obj()), w.Obj()); err != nil {
			return err
		}
	}
	return nil
}

// The bystanders: a converged group that every test checks is left alone.
const calmNS = "calm"

func createBystanders(ctx context.Context) error {
	load.Set(modelgroup.Key{Namespace: calmNS, ModelID: "calm"}, busyLoad(20))
	if err := createGroupErr(ctx, calmNS, "calm", []variant{{"calm-h100", "H100", 1}, {"calm-l40s", "L40S", 1}}, nil); err != nil {
		return err
	}
	// Converged: every Deployment runs what its VA asks for.
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if converged(ctx, calmNS) {
			return nil
		}
		time.Sleep(200 * time.Millisecond) // polling with a deadline
	}
	var vas llmdv1alpha1.VariantAutoscalingList
	_ = env.Client.List(ctx, &vas, client.InNamespace(calmNS))
	var state []string
	for _, va := range vas.Items {
		var d appsv1.Deployment
		_ = env.Client.Get(ctx, client.ObjectKey{Namespace: calmNS, Name: va.Spec.ScaleTargetRef.Name}, &d)
		state = append(state, fmt.Sprintf("%s: desired %v, deployment %d, conditions %+v", va.Name, va.Status.DesiredReplicas, *d.Spec.Replicas, va.Status.Conditions))
	}
	return fmt.Errorf("the bystander group did not converge within %v: %s", timeout, strings.Join(state, "; "))
}

func converged(ctx context.Context, ns string) bool {
	var vas llmdv1alpha1.VariantAutoscalingList
	if err := env.Client.List(ctx, &vas, client.InNamespace(ns)); err != nil || len(vas.Items) == 0 {
		return false
	}
	for _, va := range vas.Items {
		var d appsv1.Deployment
		if va.Status.DesiredReplicas == nil ||
			env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: va.Spec.ScaleTargetRef.Name}, &d) != nil ||
			*d.Spec.Replicas != *va.Status.DesiredReplicas {
			return false
		}
	}
	return true
}

// replicas maps "namespace/name" of every Deployment to its spec.replicas.
type replicas map[string]int32

// allReplicas reads the replicas of every Deployment outside the given
// namespaces.
func allReplicas(g Gomega, except ...string) replicas {
	var list appsv1.DeploymentList
	g.Expect(env.Client.List(context.Background(), &list)).To(Succeed())
	out := replicas{}
	for _, d := range list.Items {
		if contains(except, d.Namespace) {
			continue
		}
		out[d.Namespace+"/"+d.Name] = *d.Spec.Replicas
	}
	return out
}

// othersUnchanged takes the replicas of every Deployment outside the test's
// namespaces; the returned check asserts they stay exactly so for a while.
func othersUnchanged(t *testing.T, except ...string) func() {
	t.Helper()
	g := NewWithT(t)
	before := allReplicas(g, except...)
	g.Expect(before).To(HaveKey(calmNS+"/calm-h100"), "the bystanders exist")
	return func() {
		t.Helper()
		NewWithT(t).Consistently(func(g Gomega) replicas { return allReplicas(g, except...) }).
			WithTimeout(quiet).WithPolling(250*time.Millisecond).Should(Equal(before), "replicas of other variants and groups")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// expectCondition asserts a condition's status and reason, and that its
// message contains every part.
func expectCondition(g Gomega, va *llmdv1alpha1.VariantAutoscaling, condType string, status metav1.ConditionStatus, reason string, parts ...string) {
	c := meta.FindStatusCondition(va.Status.Conditions, condType)
	g.Expect(c).NotTo(BeNil(), "condition %s of %s", condType, va.Name)
	g.Expect(c.Status).To(Equal(status), "condition %s of %s: %s", condType, va.Name, c.Message)
	g.Expect(c.Reason).To(Equal(reason), "condition %s of %s: %s", condType, va.Name, c.Message)
	for _, p := range parts {
		g.Expect(c.Message).To(ContainSubstring(p), "message of condition %s of %s", condType, va.Name)
	}
}

// waitConverged waits until the namespace's Deployments run what the VAs ask.
func waitConverged(t *testing.T, ns string) {
	t.Helper()
	NewWithT(t).Eventually(func() bool { return converged(context.Background(), ns) }).WithTimeout(timeout).Should(BeTrue(), "group in %s converged", ns)
}

// expectWarningEvent waits for a Warning Event with the reason on the named
// object whose note contains every part.
func expectWarningEvent(t *testing.T, ns, object, reason string, parts ...string) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		var events eventsv1.EventList
		g.Expect(env.Client.List(context.Background(), &events, client.InNamespace(ns))).To(Succeed())
		var notes []string
		for _, e := range events.Items {
			if e.Regarding.Name == object && e.Reason == reason && e.Type == "Warning" {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(ContainElement(SatisfyAll(containsAll(parts)...)), "a Warning %s Event on %s", reason, object)
	}).WithTimeout(timeout).Should(Succeed())
}

func containsAll(parts []string) []OmegaMatcher {
	out := make([]OmegaMatcher, 0, len(parts)+1)
	out = append(out, Not(BeEmpty()))
	for _, p := range parts {
		out = append(out, ContainSubstring(p))
	}
	return out
}

// deleteGroup deletes the VAs of a namespace so that the group stops being
// planned (its Deployments stay, unmanaged).
func deleteGroup(t *testing.T, ns string) {
	t.Helper()
	err := env.Client.DeleteAllOf(context.Background(), &llmdv1alpha1.VariantAutoscaling{}, client.InNamespace(ns))
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Error(err)
	}
}

func busyLoad(rate float64) modelgroup.Load {
	return modelgroup.Load{ArrivalRate: rate, AvgInputTokens: 512, AvgOutputTokens: 128}
}
