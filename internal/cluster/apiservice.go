package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ExternalMetricsAPIService is the name of the APIService of
// external.metrics.k8s.io/v1beta1.
const ExternalMetricsAPIService = "v1beta1.external.metrics.k8s.io"

// RegisterLoopbackAPIService makes kube-apiserver proxy group/version to an
// extension API server listening on 127.0.0.1:port: a Service of type
// ExternalName (namespace/name) pointing at 127.0.0.1, and an APIService
// whose service is it (see aggregation.go for why this works). The server's
// certificate is not verified: it is self-signed and on loopback.
func RegisterLoopbackAPIService(ctx context.Context, c client.Client, group, version, namespace, name string, port int32) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "127.0.0.1",
			Ports:        []corev1.ServicePort{{Name: "https", Port: port}},
		},
	}
	if err := c.Create(ctx, svc); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the Service of %s/%s: %w", group, version, err)
	}
	as := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": version + "." + group},
		"spec": map[string]any{
			"group":                 group,
			"version":               version,
			"groupPriorityMinimum":  int64(100),
			"versionPriority":       int64(100),
			"insecureSkipTLSVerify": true,
			"service":               map[string]any{"namespace": namespace, "name": name, "port": int64(port)},
		},
	}}
	if err := c.Create(ctx, as); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the APIService of %s/%s: %w", group, version, err)
	}
	return nil
}

// APIServiceAvailable reports whether an APIService has Available=True, and
// its condition's message when not.
func APIServiceAvailable(ctx context.Context, c client.Client, name string) (bool, string, error) {
	as := &unstructured.Unstructured{}
	as.SetAPIVersion("apiregistration.k8s.io/v1")
	as.SetKind("APIService")
	if err := c.Get(ctx, client.ObjectKey{Name: name}, as); err != nil {
		return false, "", fmt.Errorf("reading APIService %s: %w", name, err)
	}
	conds, _, _ := unstructured.NestedSlice(as.Object, "status", "conditions")
	for _, raw := range conds {
		cond, _ := raw.(map[string]any)
		if cond["type"] == "Available" {
			msg, _ := cond["message"].(string)
			return cond["status"] == "True", msg, nil
		}
	}
	return false, "no Available condition yet", nil
}
