package behaviour

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

const timeout = 20 * time.Second

// variant is one VA with its Deployment.
type variant struct {
	name, accelerator string
	replicas          int32
}

// createGroup creates a namespace and a group of variants of model in it.
func createGroup(t *testing.T, ns, model string, variants []variant, edit func(*framework.VAWrapper)) {
	t.Helper()
	ctx := context.Background()
	if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
		t.Fatal(err)
	}
	for _, v := range variants {
		w := framework.MakeVA(v.name, ns).Model(model).Accelerator(v.accelerator).Max(10)
		if edit != nil {
			edit(w)
		}
		if err := framework.CreateAll(ctx, env.Client, framework.MakeDeployment(v.name, ns).Replicas(v.replicas).Obj(), w.Obj()); err != nil {
			t.Fatal(err)
		}
	}
}

// expectDecision waits until the VA's status shows desired replicas and reason.
func expectDecision(t *testing.T, ns, name string, desired int32, reason llmdv1alpha1.DecisionReason) {
	t.Helper()
	NewWithT(t).Eventually(func(g Gomega) {
		va := env.GetVA(g, ns, name)
		g.Expect(va.Status.DesiredReplicas).NotTo(BeNil())
		g.Expect(*va.Status.DesiredReplicas).To(Equal(desired), "desired replicas of %s", name)
		g.Expect(va.Status.Decision.Reason).To(Equal(reason), "decision reason of %s", name)
	}).WithTimeout(timeout).Should(Succeed())
}

func expectCondition(g Gomega, va *llmdv1alpha1.VariantAutoscaling, condType string, status metav1.ConditionStatus, reason string) {
	c := meta.FindStatusCondition(va.Status.Conditions, condType)
	g.Expect(c).NotTo(BeNil(), "condition %s of %s", condType, va.Name)
	g.Expect(c.Status).To(Equal(status), "condition %s of %s: %s", condType, va.Name, c.Message)
	g.Expect(c.Reason).To(Equal(reason), "condition %s of %s: %s", condType, va.Name, c.Message)
}

func busyLoad(rate float64) modelgroup.Load {
	return modelgroup.Load{ArrivalRate: rate, AvgInputTokens: 512, AvgOutputTokens: 128}
}

func testutilValue(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }

// desired returns the VA's desired replicas, failing the poll until it is set.
