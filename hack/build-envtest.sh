#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver, kubectl, etcd) from source through
# the Go module proxy, into a cache folder outside the work tree. Idempotent: a binary
# already present with the right version stamp is kept.
#
# Usage: hack/build-envtest.sh DEST_DIR
set -euo pipefail

dest=${1:?usage: build-envtest.sh DEST_DIR}
k8s_version=v1.37.2
etcd_version=v3.7.3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dest"

# etcd reads every ETCD_* variable as a setting; never pass any through.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(ETCD_[A-Za-z0-9_]*\)=.*/\1/p')

stamp_ok() { [ -x "$dest/$1" ] && [ "$(cat "$dest/.$1.version" 2>/dev/null)" = "$2" ]; }

export CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod
minor=${k8s_version#v1.}; minor=${minor%%.*}
ldflags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

for bin in kube-apiserver kubectl; do
  if stamp_ok "$bin" "$k8s_version"; then echo "envtest: $bin $k8s_version present"; continue; fi
  echo "envtest: building $bin $k8s_version (cold build takes several minutes)"
  (cd "$here/envtest/k8s" && go build -trimpath -tags selinux,notest,grpcnotrace \
    -ldflags "$ldflags" -o "$dest/$bin" "k8s.io/kubernetes/cmd/$bin")
  echo "$k8s_version" > "$dest/.$bin.version"
done

if stamp_ok etcd "$etcd_version"; then
  echo "envtest: etcd $etcd_version present"
else
  echo "envtest: building etcd $etcd_version"
  (cd "$here/envtest/etcd" && go build -trimpath -o "$dest/etcd" .)
  echo "$etcd_version" > "$dest/.etcd.version"
fi
