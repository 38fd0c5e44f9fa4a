package vactl

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	llmdv1alpha1 "github.com/llm-d/variant-autoscaler/api/v1alpha1"
	"github.com/llm-d/variant-autoscaler/config"
)

var scheme = func() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := llmdv1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// readConfig reads the operator's ConfigMaps as the operator does. A
// ConfigMap that does not validate is left at its defaults with a warning:
// the operator keeps its last good version, which only it knows.
func readConfig(ctx context.Context, c client.Reader, namespace string, warn io.Writer) (*config.Config, error) {
	cfg := config.Defaults()
	for _, name := range config.Names() {
		var cm corev1.ConfigMap
		err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &cm)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading ConfigMap %s/%s: %w", namespace, name, err)
		}
		next, err := cfg.With(name, cm.Data, nil)
		if err != nil {
			fmt.Fprintf(warn, "warning: %v (the operator keeps its last good version; defaults are used here)\n", err)
			continue
		}
		cfg = next
	}
	return cfg, nil
}

// listVAs lists the VAs of a namespace ("" for all), in namespace and name
// order.
func listVAs(ctx context.Context, c client.Reader, namespace string) ([]llmdv1alpha1.VariantAutoscaling, error) {
	var list llmdv1alpha1.VariantAutoscalingList
	var opts []client.ListOption
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.List(ctx, &list, opts...); err != nil {
		return nil, fmt.Errorf("listing VariantAutoscalings: %w", err)
	}
	slices.SortFunc(list.Items, func(a, b llmdv1alpha1.VariantAutoscaling) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return list.Items, nil
}

// errNoModel: no VA of the model in the namespace.
var errNoModel = errors.New("no VariantAutoscaling has this spec.modelID in the namespace")

// readGroup reads the VAs of one model in one namespace and the config.
func readGroup(ctx context.Context, c client.Reader, f *Flags, namespace, modelID string, warn io.Writer) (*group, error) {
	vas, err := listVAs(ctx, c, namespace)
	if err != nil {
		return nil, err
	}
	vas = slices.DeleteFunc(vas, func(va llmdv1alpha1.VariantAutoscaling) bool { return va.Spec.ModelID != modelID })
	if len(vas) == 0 {
		return nil, fmt.Errorf("model %q in namespace %q: %w", modelID, namespace, errNoModel)
	}
	cfg, err := readConfig(ctx, c, f.ConfigNamespace, warn)
	if err != nil {
		return nil, err
	}
	for i := range vas {
		readTargetReplicas(ctx, c, &vas[i], warn)
	}
	return newGroup(cfg, namespace, modelID, vas), nil
}

// readTargetReplicas puts the scale target's spec.replicas, which the
// operator plans from, into status.currentReplicas of the (local copy of
// the) VA. When the target cannot be read, the replicas the operator last
// recorded stay, with a warning.
func readTargetReplicas(ctx context.Context, c client.Reader, va *llmdv1alpha1.VariantAutoscaling, warn io.Writer) {
	ref := va.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err == nil {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gv.WithKind(ref.Kind))
		if err = c.Get(ctx, client.ObjectKey{Namespace: va.Namespace, Name: ref.Name}, u); err == nil {
			n, found, ferr := unstructured.NestedInt64(u.Object, "spec", "replicas")
			switch {
			case ferr != nil:
				err = ferr
			case !found:
				n = 1 // the API's default for Deployments and StatefulSets
			}
			if err == nil {
				va.Status.CurrentReplicas = int32(n)
				return
			}
		}
	}
	fmt.Fprintf(warn, "warning: %s: reading %s %s: %v; using the %d replicas the operator last recorded\n",
		va.Name, ref.Kind, ref.Name, err, va.Status.CurrentReplicas)
}
