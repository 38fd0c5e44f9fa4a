package controller

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// value reads one gauge of one series, failing the test when it has none.
func value(t *testing.T, g *VariantGauge, s VariantSeries) float64 {
	t.Helper()
	v, ok := g.Value(s)
	if !ok {
		t.Fatalf("no %v series for %+v", g.desc, s)
	}
	return v
}

func TestVariantGaugesExposeLikeGaugeVecs(t *testing.T) {
	m := NewMetrics()
	reg := prometheus.NewPedanticRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatal(err)
	}
	a := VariantSeries{Namespace: "ns", Variant: "a", TargetKind: "Deployment", TargetName: "a", Accelerator: "H100", Model: "m"}
	b := a
	b.Variant, b.TargetName, b.Accelerator = "b", "b", "L40S"
	m.publish(a, 4, 2)
	m.publishPlan(a, 160, 3.5)
	m.publish(b, 0, 0)

	want := `
# HELP wva_desired_ratio Desired over current replicas (desired when current is 0).
# TYPE wva_desired_ratio gauge
wva_desired_ratio{accelerator_type="H100",model_name="m",namespace="ns",target_kind="Deployment",target_name="a",variant_name="a"} 2
wva_desired_ratio{accelerator_type="L40S",model_name="m",namespace="ns",target_kind="Deployment",target_name="b",variant_name="b"} 0
# HELP wva_desired_replicas Replicas the operator wants for a variant; the input of an HPA or KEDA ScaledObject.
# TYPE wva_desired_replicas gauge
wva_desired_replicas{accelerator_type="H100",model_name="m",namespace="ns",target_kind="Deployment",target_name="a",variant_name="a"} 4
wva_desired_replicas{accelerator_type="L40S",model_name="m",namespace="ns",target_kind="Deployment",target_name="b",variant_name="b"} 0
# HELP wva_replica_capacity_requests_per_second Requests per second one replica of the variant carries within the SLO at the observed request shape (0: the SLO cannot be met).
# TYPE wva_replica_capacity_requests_per_second gauge
wva_replica_capacity_requests_per_second{accelerator_type="H100",model_name="m",namespace="ns",target_kind="Deployment",target_name="a",variant_name="a"} 3.5
`
	names := []string{"wva_desired_replicas", "wva_desired_ratio", "wva_replica_capacity_requests_per_second"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// Deleting one gauge of a series keeps its others; unpublish drops them all.
	if !m.DesiredCost.Delete(a) || m.DesiredCost.Delete(a) {
		t.Error("Delete must report whether the series had the gauge")
	}
	if got := value(t, m.DesiredReplicas, a); got != 4 {
		t.Errorf("a's desired replicas after deleting its cost = %v, want 4", got)
	}
	m.unpublish(a)
	for _, g := range []*VariantGauge{m.DesiredReplicas, m.CurrentReplicas, m.DesiredRatio, m.DesiredCost, m.ReplicaCapacity} {
		if _, ok := g.Value(a); ok {
			t.Errorf("%v still has a's series after unpublish", g.desc)
		}
	}
	if got := testutil.CollectAndCount(m.DesiredReplicas); got != 1 {
		t.Errorf("%d wva_desired_replicas series after unpublishing a, want b's only", got)
	}

	// Reset empties one gauge and leaves the others.
	m.DesiredReplicas.Reset()
	if got := testutil.CollectAndCount(m.DesiredReplicas); got != 0 {
		t.Errorf("%d wva_desired_replicas series after Reset, want 0", got)
	}
	if got := value(t, m.CurrentReplicas, b); got != 0 {
		t.Errorf("b's current replicas after resetting desired = %v, want 0", got)
	}
}
