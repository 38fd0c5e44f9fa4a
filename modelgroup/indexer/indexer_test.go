package indexer

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/llm-d/variant-autoscaler/test/builders"
)

func TestIndexes(t *testing.T) {
	cases := map[string]struct {
		obj              client.Object
		wantModelID      []string
		wantScaleTarget  []string
		wantAccelerator  []string
		wantServiceClass []string
	}{
		"plain VA": {
			obj:             builders.MakeVA("a", "ns").Model("llama").Accelerator("H100").Target("llama-h100").Obj(),
			wantModelID:     []string{"llama"},
			wantScaleTarget: []string{"Deployment/llama-h100"},
			wantAccelerator: []string{"H100"},
		},
		"explicit cost does not depend on the accelerator's unit cost": {
			obj:             builders.MakeVA("a", "ns").Model("llama").Cost("12").Obj(),
			wantModelID:     []string{"llama"},
			wantScaleTarget: []string{"Deployment/a"},
		},
		"service class and another kind": {
			obj:              builders.MakeVA("a", "ns").Model("m").ServiceClass("premium").TargetRef("apps/v1", "StatefulSet", "s").Obj(),
			wantModelID:      []string{"m"},
			wantScaleTarget:  []string{"StatefulSet/s"},
			wantAccelerator:  []string{"H100"},
			wantServiceClass: []string{"premium"},
		},
		"not a VA": {obj: &corev1.ConfigMap{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, c := range []struct {
				index string
				got   []string
				want  []string
			}{
				{VAModelIDKey, IndexVAModelID(tc.obj), tc.wantModelID},
				{VAScaleTargetKey, IndexVAScaleTarget(tc.obj), tc.wantScaleTarget},
				{VAAcceleratorKey, IndexVAAccelerator(tc.obj), tc.wantAccelerator},
				{VAServiceClassKey, IndexVAServiceClass(tc.obj), tc.wantServiceClass},
			} {
				if diff := cmp.Diff(c.want, c.got); diff != "" {
					t.Errorf("%s index (-want +got):\n%s", c.index, diff)
				}
			}
		})
	}
}
