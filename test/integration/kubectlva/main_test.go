// Package kubectlva tests the kubectl-va plugin against a real API server:
// VariantAutoscalings with the statuses the operator writes, the operator's
// ConfigMaps, and golden outputs (go test -update rewrites them).
package kubectlva

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/llm-d/variant-autoscaler/allocator"
	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/estimator"
	"github.com/llm-d/variant-autoscaler/learning"
	"github.com/llm-d/variant-autoscaler/test/builders"
	"github.com/llm-d/variant-autoscaler/test/framework"
)

var env *framework.Env

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{}, func(e *framework.Env) (func() error, error) {
		env = e
		return nil, setUp(context.Background())
	})
}

// changed is the time of every plan, decision and condition, so outputs are
// stable.
var changed = metav1.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))

const (
	nsServing = "llm-serving"
	nsChat    = "chat"
	model8B   = "meta-llama/Llama-3.1-8B-Instruct"
	model70B  = "meta-llama/Llama-3.1-70B-Instruct"
	modelQwen = "Qwen/Qwen2.5-7B-Instruct"
	// modelMistral's VA has no spec.profile: it is planned with the
	// profile the operator learned.
	modelMistral = "mistralai/Mistral-7B-Instruct-v0.3"
)

// configMaps are the operator's ConfigMaps of the fixture.
var configMaps = map[string]map[string]string{
	config.OperatorConfigMapName: {"STABILIZATION_WINDOW": "5m", "COST_SAVING_THRESHOLD": "0.1"},
	config.UnitCostsConfigMapName: {
		"H100": builders.UnitCost("NVIDIA-H100-80GB-HBM3", 100),
		"A100": builders.UnitCost("NVIDIA-A100-SXM4-80GB", 55),
		"L40S": builders.UnitCost("NVIDIA-L40S-48GB", 25),
	},
	config.ServiceClassesConfigMapName: {
		"premium.yaml":  builders.ServiceClass("Premium", 1, 500, 50, model8B),
		"standard.yaml": builders.ServiceClass("Standard", 5, 1000, 80, model70B),
		"freemium.yaml": builders.ServiceClass("Freemium", 10, 2000, 100, modelQwen, modelMistral),
	},
	config.ScaleToZeroConfigMapName: {
		"qwen": fmt.Sprintf("modelID: %s\nenableScaleToZero: true\nretentionPeriod: 15m\n", modelQwen),
	},
}

// member is one VA with its Deployment's replicas and, optionally, the
// highest recommendation the operator remembers from a minute ago (which
// holds a scale-down in the stabilization window).
type member struct {
	va       *builders.VAWrapper
	current  int32
	previous int
	// learned, when set, is the estimate in status.learnedProfile that the
	// operator plans with (ProfileLearned True).
	learned *estimator.Estimate
}

// fixtureGroup is a model group and its load (nil: the metrics are missing).
type fixtureGroup struct {
	members []member
	load    *allocator.Load
}

var groups = []fixtureGroup{
	{
		members: []member{
			{va: builders.MakeVA("llama-8b-h100", nsServing).Model(model8B).Accelerator("H100").Max(8).Profile(64, "6", "0.06", "12", "0.004"), current: 0},
			{va: builders.MakeVA("llama-8b-a100", nsServing).Model(model8B).Accelerator("A100").Max(8).Profile(64, "9", "0.09", "18", "0.006"), current: 2, previous: 2},
			{va: builders.MakeVA("llama-8b-l40s", nsServing).Model(model8B).Accelerator("L40S").Max(4).Profile(32, "14", "0.2", "30", "0.01"), current: 2},
		},
		load: &allocator.Load{Available: true, Rate: 28.1, AvgIn: 512, AvgOut: 128},
	},
	{
		members: []member{
			{va: builders.MakeVA("llama-70b-h100", nsServing).Model(model70B).Accelerator("H100").AcceleratorCount(2).Min(1).Max(6).Profile(64, "20", "0.15", "40", "0.01"), current: 1},
		},
		load: &allocator.Load{Available: true, Rate: 8.3, AvgIn: 512, AvgOut: 128},
	},
	{
		members: []member{
			{va: builders.MakeVA("qwen-7b-a100", nsChat).Model(modelQwen).Accelerator("A100").Max(4), current: 1},
		},
	},
	{
		members: []member{
			{va: builders.MakeVA("mistral-7b-l40s", nsChat).Model(modelMistral).Accelerator("L40S").Max(6).NoProfile(), current: 1,
				learned: &estimator.Estimate{
					Params:        estimator.Params{Alpha: 17.4, Beta: 0.61, Gamma: 34.6, Delta: 0.051},
					StdErr:        estimator.Params{Alpha: 0.3, Beta: 0.008, Gamma: 1.2, Delta: 0.004},
					DecodeSamples: 240, PrefillSamples: 236, BatchMin: 3.2, BatchMax: 41.7, InputTokens: 162,
					Updated: changed.Add(-2 * time.Minute),
				}},
		},
		load: &allocator.Load{Available: true, Rate: 4.2, AvgIn: 162, AvgOut: 256},
	},
}

func setUp(ctx context.Context) error {
	for _, ns := range []string{config.DefaultNamespace, nsServing, nsChat} {
		if err := framework.CreateNamespace(ctx, env.Client, ns); err != nil {
			return err
		}
	}
	if err := framework.ApplyConfigMaps(ctx, env.Client, configMaps); err != nil {
		return err
	}
	cfg, err := config.Load(configMaps, nil)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := createGroup(ctx, cfg, g); err != nil {
			return err
		}
	}
	return nil
}

// createGroup creates the group's Deployments and VAs and writes the
// statuses the operator would: the allocator's plan at the group's load,
// as controller/plan.go turns it into a status.
func createGroup(ctx context.Context, cfg *config.Config, g fixtureGroup) error {
	in := allocator.Input{Now: changed.Time, State: allocator.State{LastActive: changed.Time, Recommendations: map[string][]allocator.Recommendation{}}}
	in.Policy = allocator.Policy{StabilizationWindow: cfg.Operator.StabilizationWindow, CostSavingThreshold: cfg.Operator.CostSavingThreshold}
	if g.load != nil {
		in.Load = *g.load
	}
	for _, m := range g.members {
		va := m.va.Obj()
		if err := framework.CreateAll(ctx, env.Client, builders.MakeDeployment(va.Name, va.Namespace).Replicas(m.current).Obj(), va); err != nil {
			return err
		}
		profile, err := plannedProfile(va, m.learned)
		if err != nil {
			return err
		}
		cost, err := cfg.VariantCost(&va.Spec)
		if err != nil {
			return err
		}
		slo, _, err := cfg.SLOFor(va.Namespace, va.Spec.ModelID, "")
		if err != nil {
			return err
		}
		in.SLO = allocator.SLO{TTFT: slo.TTFT, ITL: slo.ITL}
		maxR := allocator.Unbounded
		if va.Spec.MaxReplicas != nil {
			maxR = int(*va.Spec.MaxReplicas)
		}
		in.Variants = append(in.Variants, allocator.Variant{Name: va.Name, Cost: cost, Min: int(va.Spec.MinReplicas), Max: maxR, Current: int(m.current),
			Profile: profile})
		// Every variant has a history (not a fresh start, which would hold
		// the current replicas); previous > 0 is a higher recommendation
		// from a minute ago.
		in.State.Recommendations[va.Name] = []allocator.Recommendation{{Time: changed.Add(-time.Minute), Replicas: m.previous}}
	}
	res, err := allocator.Plan(in, nil)
	if err != nil {
		return err
	}
	for i, m := range g.members {
		if err := writeStatus(ctx, m, res.Variants[i], res.Outcome); err != nil {
			return err
		}
	}
	return nil
}

// plannedProfile is the VA's spec.profile, or the learned estimate when the
// fixture gives one.
func plannedProfile(va *llmdv1alpha1.VariantAutoscaling, learned *estimator.Estimate) (allocator.Profile, error) {
	if learned != nil {
		return learning.Profile(learned.Params, learning.DefaultMaxBatchSize), nil
	}
	p, err := va.Spec.Profile.Parse()
	return allocator.Profile{MaxBatchSize: p.MaxBatchSize, Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Delta: p.Delta}, err
}

func writeStatus(ctx context.Context, m member, d allocator.Decision, outcome allocator.Outcome) error {
	va := m.va.Obj()
	cond := func(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, LastTransitionTime: changed, ObservedGeneration: va.Generation}
	}
	metrics := cond(llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonMetricsFound, "the model's load was read from Prometheus")
	optimized := cond(llmdv1alpha1.ConditionOptimized, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonSucceeded,
		fmt.Sprintf("planned %d replicas (%s)", d.Replicas, d.Reason))
	if outcome == allocator.OutcomeMetricsMissing {
		metrics = cond(llmdv1alpha1.ConditionMetricsAvailable, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsMissing,
			"no vllm:request_success_total series for the model in the namespace")
		optimized = cond(llmdv1alpha1.ConditionOptimized, metav1.ConditionFalse, llmdv1alpha1.ConditionReasonMetricsUnavailable,
			fmt.Sprintf("holding %d replicas until the model's load is known", d.Replicas))
	}
	va.Status = llmdv1alpha1.VariantAutoscalingStatus{
		ObservedGeneration: va.Generation,
		CurrentReplicas:    m.current,
		DesiredReplicas:    ptr.To(int32(d.Replicas)),
		Decision: &llmdv1alpha1.Decision{
			LoadShare:      llmdv1alpha1.FormatDecimal(d.LoadShare, 2),
			PredictedTTFT:  llmdv1alpha1.FormatDecimal(d.TTFT, 1),
			PredictedITL:   llmdv1alpha1.FormatDecimal(d.ITL, 1),
			CostPerHour:    llmdv1alpha1.FormatDecimal(d.Cost, 2),
			Reason:         llmdv1alpha1.DecisionReason(d.Reason),
			LastChangeTime: ptr.To(changed),
		},
		Conditions: []metav1.Condition{
			cond(llmdv1alpha1.ConditionTargetResolved, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonTargetFound, "Deployment "+va.Name+" found"),
			metrics, optimized,
		},
	}
	if m.learned != nil {
		va.Status.LearnedProfile = learning.ToStatus(*m.learned, "default for L40")
		va.Status.Conditions = append(va.Status.Conditions, cond(llmdv1alpha1.ConditionProfileLearned, metav1.ConditionTrue, llmdv1alpha1.ConditionReasonLearned,
			"learned from 240 decode and 236 prefill observations at batch sizes 3.2 to 41.7; standard error at most 3.1% up to batch 30"))
	}
	if err := env.Client.Status().Update(ctx, va); err != nil {
		return fmt.Errorf("status of %s: %w", va.Name, err)
	}
	return nil
}
