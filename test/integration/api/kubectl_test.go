package api

import (
	"context"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

func TestKubectlShowsPrinterColumns(t *testing.T) {
	ctx := context.Background()
	va := framework.MakeVA("printed", namespace).Model("granite-8b").Accelerator("L40S").Obj()
	if err := env.Client.Create(ctx, va); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(ctx, va) })
	va.Status.CurrentReplicas = 2
	va.Status.DesiredReplicas = ptr.To[int32](4)
	va.Status.Decision = &llmdv1alpha1.Decision{CostPerHour: "160", Reason: llmdv1alpha1.ReasonLoadChange}
	va.Status.Conditions = []metav1.Condition{{
		Type: llmdv1alpha1.ConditionOptimized, Status: metav1.ConditionTrue, Reason: llmdv1alpha1.ConditionReasonSucceeded,
		LastTransitionTime: metav1.Now(),
	}, {
		Type: llmdv1alpha1.ConditionProfileLearned, Status: metav1.ConditionFalse, Reason: llmdv1alpha1.ConditionReasonNotEnoughSamples,
		LastTransitionTime: metav1.Now(),
	}}
	if err := env.Client.Status().Update(ctx, va); err != nil {
		t.Fatal(err)
	}

	out, err := env.Kubectl(ctx, "", "get", "va", "-A", "-o", "wide")
	if err != nil {
		t.Fatal(err)
	}
	header := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	wantHeader := []string{"NAMESPACE", "NAME", "MODEL", "ACCELERATOR", "CURRENT", "DESIRED", "COST/H", "READY", "REASON", "TARGET", "PROFILE", "AGE"}
	if strings.Join(header, " ") != strings.Join(wantHeader, " ") {
		t.Errorf("kubectl get va -o wide header = %v, want %v", header, wantHeader)
	}
	row := regexp.MustCompile(`(?m)^` + namespace + `\s+printed\s+granite-8b\s+L40S\s+2\s+4\s+160\s+True\s+LoadChange\s+printed\s+NotEnoughSamples\s+\S+$`)
	if !row.MatchString(out) {
		t.Errorf("kubectl get va -o wide has no row for the VA with its status values:\n%s", out)
	}
}

func TestKubectlApplyOfInvalidVAPrintsTheReason(t *testing.T) {
	manifest := `apiVersion: llmd.ai/v1alpha1
kind: VariantAutoscaling
metadata:
  name: bad-bounds
  namespace: ` + namespace + `
spec:
  scaleTargetRef: {name: bad-bounds}
  modelID: llama
  accelerator: H100
  minReplicas: 4
  maxReplicas: 2
  profile:
    maxBatchSize: 8
    decode: {alpha: "abc", beta: "0.5"}
    prefill: {gamma: "5", delta: "0.01"}
`
	out, err := env.Kubectl(context.Background(), manifest, "apply", "-f", "-")
	if err == nil {
		t.Fatalf("kubectl apply of an invalid VA succeeded: %s", out)
	}
	for _, want := range []string{"spec.profile.decode.alpha", "must be greater than or equal to minReplicas"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("kubectl's message %q does not contain %q", err, want)
		}
	}
}
