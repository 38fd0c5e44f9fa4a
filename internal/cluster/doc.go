// Package cluster starts a local Kubernetes cluster from binaries built from
// source (`make envtest-bins`): etcd and kube-apiserver with the repository's
// CRDs installed, an admin client and kubeconfig, and the built kubectl. The
// demo and the tests run the operator against it; nothing here talks to a
// cluster other than the one it started, and every server listens on
// loopback.
package cluster
