package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/llm-d/variant-autoscaler/config"
)

// The flags that set keys of variantautoscaling-config win over the
// environment of the same name.
func TestOperatorEnvFlagsWin(t *testing.T) {
	o := &options{maxReplicasPerVariant: 7, allowInsecureCreds: true, allowInsecureGWCreds: true}
	got := operatorEnv(o, []string{config.KeyMaxReplicasPerVariant + "=3", config.KeyGatewayAllowInsecureCredentials + "=false", "HOME=/root"})
	want := map[string]string{
		config.KeyMaxReplicasPerVariant:              "7",
		config.KeyPrometheusAllowInsecureCredentials: "true",
		config.KeyGatewayAllowInsecureCredentials:    "true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operatorEnv (-want +got):\n%s", diff)
	}
	if got := operatorEnv(&options{}, nil); len(got) != 0 {
		t.Errorf("operatorEnv without flags = %v, want nothing", got)
	}
}
