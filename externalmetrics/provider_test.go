package externalmetrics

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
)

func TestValues(t *testing.T) {
	desired := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: MetricName}, []string{"namespace", "variant_name", "target_name"})
	desired.With(prometheus.Labels{"namespace": "a", "variant_name": "v1", "target_name": "d1"}).Set(20)
	desired.With(prometheus.Labels{"namespace": "a", "variant_name": "v2", "target_name": "d2"}).Set(0)
	desired.With(prometheus.Labels{"namespace": "b", "variant_name": "v1", "target_name": "d1"}).Set(3)
	p := &Provider{Desired: desired}

	cases := map[string]struct {
		namespace  string
		selector   string
		wantValues map[string]int64
	}{
		"one variant by name":             {namespace: "a", selector: "variant_name=v1", wantValues: map[string]int64{"v1": 20}},
		"zero is a value":                 {namespace: "a", selector: "variant_name=v2,target_name=d2", wantValues: map[string]int64{"v2": 0}},
		"namespace separates":             {namespace: "b", selector: "variant_name=v1", wantValues: map[string]int64{"v1": 3}},
		"all of a namespace":              {namespace: "a", selector: "", wantValues: map[string]int64{"v1": 20, "v2": 0}},
		"no series is an empty list":      {namespace: "c", selector: "variant_name=v1", wantValues: map[string]int64{}},
		"a mismatched label selects none": {namespace: "a", selector: "variant_name=v1,target_name=other", wantValues: map[string]int64{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			sel, err := labels.Parse(tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			list, err := p.Values(tc.namespace, sel)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, v := range list.Items {
				got[v.MetricLabels["variant_name"]] = v.Value.Value()
				if v.MetricName != MetricName || v.MetricLabels["namespace"] != tc.namespace {
					t.Errorf("item %+v: want metric %s in namespace %s", v, MetricName, tc.namespace)
				}
			}
			if diff := cmp.Diff(tc.wantValues, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}
