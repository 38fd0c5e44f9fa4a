package loadsource

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
	"github.com/llm-d/variant-autoscaler/modelgroup"
	"github.com/llm-d/variant-autoscaler/modelgroup/indexer"
	"github.com/llm-d/variant-autoscaler/test/builders"
)

func fakeCluster(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := llmdv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithIndex(&llmdv1alpha1.VariantAutoscaling{}, indexer.VAModelIDKey, indexer.IndexVAModelID).Build()
}

func TestCacheAtZero(t *testing.T) {
	c := fakeCluster(t,
		builders.MakeVA("cold-a", "ns").Model("cold").Obj(), builders.MakeDeployment("cold-a", "ns").Replicas(0).Obj(),
		builders.MakeVA("cold-b", "ns").Model("cold").Obj(), builders.MakeDeployment("cold-b", "ns").Replicas(0).Obj(),
		builders.MakeVA("warm-a", "ns").Model("warm").Obj(), builders.MakeDeployment("warm-a", "ns").Replicas(0).Obj(),
		builders.MakeVA("warm-b", "ns").Model("warm").Obj(), builders.MakeDeployment("warm-b", "ns").Replicas(2).Obj(),
		builders.MakeVA("gone", "ns").Model("gone").Obj(), // its Deployment does not exist
	)
	atZero := CacheAtZero(c)
	got := map[string]bool{}
	for _, m := range []string{"cold", "warm", "gone", "no-va"} {
		z, err := atZero(context.Background(), modelgroup.Key{Namespace: "ns", ModelID: m})
		if err != nil {
			t.Fatal(err)
		}
		got[m] = z
	}
	want := map[string]bool{"cold": true, "warm": false, "gone": true, "no-va": false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("at zero (-want +got):\n%s", diff)
	}
}

func TestDiscoverServices(t *testing.T) {
	svc := func(ns, name string, labels map[string]string, ports ...corev1.ServicePort) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec: corev1.ServiceSpec{Ports: ports}}
	}
	epp := map[string]string{"app": "epp"}
	c := fakeCluster(t,
		svc("team-a", "epp", epp, corev1.ServicePort{Name: "grpc", Port: 9002}, corev1.ServicePort{Name: "metrics", Port: 9091}),
		svc("team-b", "epp", epp, corev1.ServicePort{Name: "grpc", Port: 9002}),
		svc("team-c", "other", map[string]string{"app": "web"}),
	)
	got, err := DiscoverServices(c)(context.Background(), config.GatewayConfig{ServiceSelector: "app=epp", Scheme: "http"})
	if err != nil {
		t.Fatal(err)
	}
	want := []config.GatewayEndpoint{
		{Namespace: "team-a", URL: "http://epp.team-a.svc:9091/metrics"},
		{Namespace: "team-b", URL: "http://epp.team-b.svc:9090/metrics"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoints (-want +got):\n%s", diff)
	}
}
