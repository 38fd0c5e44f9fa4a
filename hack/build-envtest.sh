#!/usr/bin/env bash
# Builds the local cluster from source through the Go module proxy, into a cache
# folder outside the work tree:
#   kube-apiserver, kubectl, etcd                  (every integration test)
#   kube-controller-manager, kube-scheduler, kwok  (Deployments, ReplicaSets, Pods on fake GPU nodes)
#   prometheus                                     (the e2e tests and the demo)
#   keda-operator, keda-adapter                    (the KEDA end-to-end test)
# Idempotent: a binary already present with the right version stamp is kept.
#
# Usage: hack/build-envtest.sh DEST_DIR [COMPONENT...]   (default: all of them)
set -euo pipefail

dest=${1:?usage: build-envtest.sh DEST_DIR [COMPONENT...]}
shift
k8s_version=v1.37.2
etcd_version=v3.7.3
kwok_version=v0.8.0
prometheus_version=v0.316.0
prometheus_release=3.16.0 # what v0.316.0 of the Go module calls itself
keda_version=v2.21.0
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"

all=(kube-apiserver kubectl etcd kube-controller-manager kube-scheduler kwok prometheus keda-operator keda-adapter)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")

# etcd reads every ETCD_* variable as a setting; never pass any through.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ETCD_[A-Za-z0-9_]*\)=.*/\1/p')

export CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod
minor=${k8s_version#v1.}; minor=${minor%%.*}
k8s_ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
prom_ldflags="-X github.com/prometheus/common/version.Version=$prometheus_release -X github.com/prometheus/common/version.Branch=HEAD -X github.com/prometheus/common/version.Revision=$prometheus_version"
keda_ldflags="-X github.com/kedacore/keda/v2/version.Version=$keda_version"

# build NAME VERSION MODULE_DIR PACKAGE [go build flags...]
build() {
  local name=$1 version=$2 dir=$3 pkg=$4; shift 4
  if [ -x "$dest/$name" ] && [ "$(cat "$dest/.$name.version" 2>/dev/null)" = "$version" ]; then
    echo "cluster-bins: $name $version present"; return
  fi
  echo "cluster-bins: building $name $version ($(date +%T); a cold build takes minutes on 2 cores)"
  local start=$SECONDS
  (cd "$here/$dir" && go build -trimpath "$@" -o "$dest/$name.tmp" "$pkg")
  mv "$dest/$name.tmp" "$dest/$name"
  echo "$version" > "$dest/.$name.version"
  echo "cluster-bins: $name built in $((SECONDS - start)) s"
}

for c in "${wanted[@]}"; do
  case $c in
    kube-apiserver|kubectl|kube-controller-manager|kube-scheduler)
      build "$c" "$k8s_version" envtest/k8s "k8s.io/kubernetes/cmd/$c" \
        -tags selinux,notest,grpcnotrace -ldflags "$k8s_ldflags" ;;
    etcd) build etcd "$etcd_version" envtest/etcd . ;;
    kwok) build kwok "$kwok_version" cluster/kwok sigs.k8s.io/kwok/cmd/kwok ;;
    prometheus)
      build prometheus "$prometheus_version" cluster/prometheus \
        github.com/prometheus/prometheus/cmd/prometheus -ldflags "$prom_ldflags" ;;
    keda-operator)
      build keda-operator "$keda_version" cluster/keda github.com/kedacore/keda/v2/cmd/operator -ldflags "$keda_ldflags" ;;
    keda-adapter)
      build keda-adapter "$keda_version" cluster/keda github.com/kedacore/keda/v2/cmd/adapter -ldflags "$keda_ldflags" ;;
    *) echo "cluster-bins: unknown component $c (known: ${all[*]})" >&2; exit 2 ;;
  esac
done
