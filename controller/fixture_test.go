package controller

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

// The fixtures below run the reconciler's own logic against
// controller-runtime's fake client, with the operator's field indexes
// registered and interceptors that inject API errors. Everything that
// depends on a real API server (admission, the cache, watches) is tested
// in test/integration.

var testScheme = func() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := llmdv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// fixedLoad is a LoadSource that answers one reading for every group.
type fixedLoad struct{ reading modelgroup.LoadReading }

func (f fixedLoad) Load(context.Context, modelgroup.Key, time.Duration) modelgroup.LoadReading {
	return f.reading
}

var busyLoad = modelgroup.LoadReading{Available: true, Reason: llmdv1alpha1.ConditionReasonMetricsFound,
	Load: modelgroup.Load{ArrivalRate: 30, AvgInputTokens: 512, AvgOutputTokens: 128}}

// scaleCall is one /scale patch the reconciler sent.
type scaleCall struct {
	Name     string
	Replicas int32
}

// fixture is a reconciler on a fake client.
type fixture struct {
	rec      *GroupReconciler
	client   client.WithWatch
	store    *config.Store
	metrics  *Metrics
	clock    *clocktesting.FakeClock
	recorder *events.FakeRecorder

	mu sync.Mutex
	// scales are the /scale patches that reached the fake API server.
	scales []scaleCall
	// statusPatches counts status patches that reached it, by VA name.
	statusPatches map[string]int
}

// newFixture builds a reconciler over objs. funcs, when set, run before the
// fixture's own recording interceptors (return nil from a func field to let
// the call through).
func newFixture(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) *fixture {
	t.Helper()
	f := &fixture{
		store:         config.NewStore(nil),
		metrics:       NewMetrics(),
		clock:         clocktesting.NewFakeClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)),
		recorder:      events.NewFakeRecorder(100),
		statusPatches: map[string]int{},
	}
	for name, data := range map[string]map[string]string{
		config.UnitCostsConfigMapName: {
			"H100": builders.UnitCost("H100", 100),
			"L40S": builders.UnitCost("L40S", 30),
		},
		config.ServiceClassesConfigMapName: {"p.yaml": builders.ServiceClass("Premium", 1, 2000, 80, "llama")},
		config.OperatorConfigMapName:       {config.KeyStabilizationWindow: "0s"},
	} {
		if _, err := f.store.Update(name, data); err != nil {
			t.Fatal(err)
		}
	}
	b := fake.NewClientBuilder().WithScheme(testScheme).WithObjects(objs...).
		WithStatusSubresource(&llmdv1alpha1.VariantAutoscaling{})
	for key, fn := range map[string]client.IndexerFunc{
		indexer.VAModelIDKey:      indexer.IndexVAModelID,
		indexer.VAScaleTargetKey:  indexer.IndexVAScaleTarget,
		indexer.VAAcceleratorKey:  indexer.IndexVAAccelerator,
		indexer.VAServiceClassKey: indexer.IndexVAServiceClass,
	} {
		b = b.WithIndex(&llmdv1alpha1.VariantAutoscaling{}, key, fn)
	}
	b = b.WithInterceptorFuncs(interceptor.Funcs{
		Get:  funcs.Get,
		List: funcs.List,
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
			if funcs.SubResourcePatch != nil {
				if err := funcs.SubResourcePatch(ctx, c, sub, obj, patch, opts...); err != nil {
					return err
				}
			}
			if sub == "scale" {
				return f.applyScale(ctx, c, obj, patch)
			}
			// Counted before the patch lands, so that a test which sees the
			// new status also sees its count.
			f.countStatusPatch(obj.GetName(), 1)
			if err := c.SubResource(sub).Patch(ctx, obj, patch, opts...); err != nil {
				f.countStatusPatch(obj.GetName(), -1)
				return err
			}
			return nil
		},
	})
	f.client = b.Build()
	f.rec = NewGroupReconciler(ReconcilerOptions{
		Client: f.client,
		Snapshots: &modelgroup.Snapshotter{
			Cache: f.client, Scales: f.client, Config: f.store, Load: fixedLoad{busyLoad},
		},
		Triggers: modelgroup.NewTriggers(), Recorder: f.recorder, Metrics: f.metrics,
		Clock: f.clock, Actuation: ActuationScale,
	})
	return f
}

// applyScale plays the API server's /scale of a Deployment: it records the
// call and sets the Deployment's replicas.
func (f *fixture) applyScale(ctx context.Context, c client.Client, obj client.Object, patch client.Patch) error {
	data, err := patch.Data(obj)
	if err != nil {
		return err
	}
	var body struct {
		Spec struct {
			Replicas int32 `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		return err
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &d); err != nil {
		return err
	}
	d.Spec.Replicas = ptr.To(body.Spec.Replicas)
	if err := c.Update(ctx, &d); err != nil {
		return err
	}
	f.mu.Lock()
	f.scales = append(f.scales, scaleCall{Name: obj.GetName(), Replicas: body.Spec.Replicas})
	f.mu.Unlock()
	return nil
}

// takeScales returns and forgets the /scale calls so far.
func (f *fixture) takeScales() []scaleCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.scales
	f.scales = nil
	return out
}

func (f *fixture) countStatusPatch(name string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statusPatches[name] += n
}

func (f *fixture) patchesOf(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.statusPatches[name]
}

func (f *fixture) va(t *testing.T, name string) *llmdv1alpha1.VariantAutoscaling {
	t.Helper()
	var va llmdv1alpha1.VariantAutoscaling
	if err := f.client.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: name}, &va); err != nil {
		t.Fatal(err)
	}
	return &va
}

// llamaGroup is a group of two variants, H100 and L40S, each on its own
// one-replica Deployment.
func llamaGroup() []client.Object {
	return []client.Object{
		builders.MakeVA("h", "ns").Model("llama").Max(10).Obj(),
		builders.MakeVA("l", "ns").Model("llama").Accelerator("L40S").Max(2).Obj(),
		builders.MakeDeployment("h", "ns").Obj(),
		builders.MakeDeployment("l", "ns").Obj(),
	}
}

var llamaKey = modelgroup.Key{Namespace: "ns", ModelID: "llama"}
