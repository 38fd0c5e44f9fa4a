package controller

// RBAC of the manager beyond what the reconcilers' files declare. `make
// manifests` turns these markers into config/rbac/role.yaml.
//
// The operator's ConfigMaps are read in its own namespace only (the manager's
// cache watches ConfigMaps there and nowhere else), so the read access is a
// namespaced Role, not a ClusterRole.
//
// +kubebuilder:rbac:groups="",namespace=workload-variant-autoscaler-system,resources=configmaps,verbs=get;list;watch
//
// Services are read to discover the endpoint pickers the fast path from zero
// polls (GATEWAY_EPP_SERVICE_SELECTOR, docs/scale-to-zero.md).
//
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch
