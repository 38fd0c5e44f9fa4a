package controller

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/llm-d/variant-autoscaler/config"
)

// workload names a scale target (Deployment or StatefulSet) in a namespace.
type workload struct {
	Kind, Namespace, Name string
}

// inventoryInput is what the accelerator inventory is computed from.
type inventoryInput struct {
	Nodes []corev1.Node
	Pods  []corev1.Pod
	// Managed holds the workloads VAs size: their pods' accelerators are
	// the ones being arbitrated, not subtracted.
	Managed map[workload]bool
	// Label names a Node's accelerator type; Resource counts them.
	Label, Resource string
	// TypeOf maps a label value onto an accelerator type (spec.accelerator).
	TypeOf func(labelValue string) string
}

// inventory is the accelerators the arbitration can hand out.
type inventory struct {
	// Available per type: what schedulable, Ready Nodes offer of the
	// resource, minus what pods not sized by a VA request on them.
	Available map[string]int
	// Nodes per type: the Nodes counted.
	Nodes map[string]int
	// Pending per workload sized by a VA: its pods the scheduler could not
	// place for lack of the resource.
	Pending map[workload]int
}

// computeInventory is pure: the same Nodes and Pods give the same inventory.
func computeInventory(in inventoryInput) inventory {
	out := inventory{Available: map[string]int{}, Nodes: map[string]int{}, Pending: map[workload]int{}}
	res := corev1.ResourceName(in.Resource)
	typeOfNode := map[string]string{}
	for i := range in.Nodes {
		n := &in.Nodes[i]
		value, ok := n.Labels[in.Label]
		if !ok || value == "" || !schedulable(n) {
			continue
		}
		q, ok := n.Status.Allocatable[res]
		if !ok {
			continue
		}
		t := in.TypeOf(value)
		typeOfNode[n.Name] = t
		out.Available[t] += int(q.Value())
		out.Nodes[t]++
	}
	for i := range in.Pods {
		p := &in.Pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		want := podRequest(p, res)
		if want == 0 {
			continue
		}
		w, managed := ownerWorkload(p)
		managed = managed && in.Managed[w]
		if managed {
			if unschedulableFor(p, in.Resource) {
				out.Pending[w]++
			}
			continue
		}
		if t, ok := typeOfNode[p.Spec.NodeName]; ok && p.Spec.NodeName != "" {
			out.Available[t] = max(0, out.Available[t]-want)
		}
	}
	return out
}

// schedulable: not cordoned, Ready, not being deleted.
func schedulable(n *corev1.Node) bool {
	if n.Spec.Unschedulable || n.DeletionTimestamp != nil {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podRequest is what a pod requests of the resource: the larger of its
// containers' sum and its largest init container, as the scheduler counts
// (requests, or limits where no request is given: extended resources must
// have equal ones).
func podRequest(p *corev1.Pod, res corev1.ResourceName) int {
	of := func(c corev1.Container) int64 {
		if q, ok := c.Resources.Requests[res]; ok {
			return q.Value()
		}
		if q, ok := c.Resources.Limits[res]; ok {
			return q.Value()
		}
		return 0
	}
	var sum, initMax int64
	for _, c := range p.Spec.Containers {
		sum += of(c)
	}
	for _, c := range p.Spec.InitContainers {
		initMax = max(initMax, of(c))
	}
	return int(max(sum, initMax))
}

// ownerWorkload is the Deployment (through its ReplicaSet, named
// <deployment>-<pod-template-hash>) or StatefulSet owning a pod.
func ownerWorkload(p *corev1.Pod) (workload, bool) {
	for _, o := range p.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		switch o.Kind {
		case "ReplicaSet":
			hash := p.Labels["pod-template-hash"]
			if name, ok := strings.CutSuffix(o.Name, "-"+hash); ok && hash != "" {
				return workload{Kind: "Deployment", Namespace: p.Namespace, Name: name}, true
			}
		case "StatefulSet":
			return workload{Kind: "StatefulSet", Namespace: p.Namespace, Name: o.Name}, true
		}
	}
	return workload{}, false
}

// unschedulableFor reports a Pending pod the scheduler could not place, for
// lack of the resource when the scheduler says why.
func unschedulableFor(p *corev1.Pod, res string) bool {
	if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return c.Message == "" || strings.Contains(c.Message, res)
		}
	}
	return false
}

// acceleratorTypeOf maps a Node label value onto spec.accelerator: the
// accelerator-unit-costs entry whose device it is (the first by name), else
// the value itself.
func acceleratorTypeOf(cfg *config.Config) func(string) string {
	byDevice := map[string]string{}
	names := make([]string, 0, len(cfg.UnitCosts))
	for name := range cfg.UnitCosts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := cfg.UnitCosts[name].Device; d != "" {
			if _, seen := byDevice[d]; !seen {
				byDevice[d] = name
			}
		}
	}
	return func(v string) string {
		if t, ok := byDevice[v]; ok {
			return t
		}
		return v
	}
}
