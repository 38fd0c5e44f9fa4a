// Package api proves the VariantAutoscaling API against a real kube-apiserver:
// validation, defaults, the status subresource and kubectl's view of it.
package api

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/llm-d/variant-autoscaler/test/framework"
)

var env *framework.Env

const namespace = "api-test"

func TestMain(m *testing.M) {
	env = framework.MustStart(framework.Options{})
	code := 1
	if err := framework.CreateNamespace(context.Background(), env.Client, namespace); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the control plane:", err)
	}
	os.Exit(code)
}
