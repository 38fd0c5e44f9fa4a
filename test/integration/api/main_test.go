// Package api proves the VariantAutoscaling API against a real kube-apiserver:
// validation, defaults, the status subresource and kubectl's view of it.
package api

import (
	"context"
	"testing"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

var env *framework.Env

const namespace = "api-test"

func TestMain(m *testing.M) {
	framework.Main(m, framework.Options{}, func(e *framework.Env) (func() error, error) {
		env = e
		return nil, framework.CreateNamespace(context.Background(), e.Client, namespace)
	})
}
