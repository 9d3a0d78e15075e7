#!/usr/bin/env bash
# Deploys the examples to a local kind cluster (needs docker, kind and kubectl; not runnable on
# machines without a Docker engine — CI runs the same binaries and manifests as real Pods on a real
# node instead: tests/tests/node.rs, and `./scripts/demo --node`).
#   examples/deploy/kind.sh            # create cluster if needed, build, load, deploy, show output
#   KIND_CLUSTER=other examples/deploy/kind.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster="${KIND_CLUSTER:-incluster}"
image="incluster-examples:dev"

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || { echo "kind.sh: $tool is not installed" >&2; exit 1; }
done
kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster"
docker build -f "$root/examples/Dockerfile" -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"

ctx="kind-$cluster"
kubectl --context "$ctx" apply -f "$root/examples/deploy/seed.yaml" -f "$root/examples/deploy/heartbeat.yaml"
kubectl --context "$ctx" -n incluster-demo delete pod seed --ignore-not-found
kubectl --context "$ctx" apply -f "$root/examples/deploy/seed-pod.yaml"
kubectl --context "$ctx" -n incluster-demo wait --for=jsonpath='{.status.phase}'=Succeeded pod/seed --timeout=120s
kubectl --context "$ctx" -n incluster-demo logs seed
kubectl --context "$ctx" -n incluster-demo rollout status deploy/heartbeat --timeout=120s
sleep 5
kubectl --context "$ctx" -n incluster-demo get configmap incluster-heartbeat -o jsonpath='{.data}'; echo

# config-mirror: the CRD, its RBAC, two replicas; then one ConfigMirror and its copies.
kubectl --context "$ctx" apply -f "$root/examples/deploy/mirror-crd.yaml" -f "$root/examples/deploy/mirror-rbac.yaml"
kubectl --context "$ctx" wait --for=condition=Established crd/configmirrors.mirror.incluster.dev --timeout=60s
kubectl --context "$ctx" apply -f "$root/examples/deploy/mirror-deployment.yaml"
kubectl --context "$ctx" -n incluster-mirror rollout status deploy/config-mirror --timeout=120s
for ns in mirror-demo-a mirror-demo-b; do
  kubectl --context "$ctx" create namespace "$ns" --dry-run=client -o yaml | kubectl --context "$ctx" apply -f -
done
kubectl --context "$ctx" -n incluster-demo create configmap mirrored-settings --from-literal=color=blue \
  --dry-run=client -o yaml | kubectl --context "$ctx" apply -f -
kubectl --context "$ctx" apply -f - <<'YAML'
apiVersion: mirror.incluster.dev/v1alpha1
kind: ConfigMirror
metadata: {name: settings, namespace: incluster-demo}
spec:
  source: {namespace: incluster-demo, name: mirrored-settings}
  targets: [mirror-demo-a, mirror-demo-b]
YAML
kubectl --context "$ctx" -n incluster-demo wait --for=condition=Ready configmirror/settings --timeout=60s
kubectl --context "$ctx" -n incluster-demo get configmirrors
kubectl --context "$ctx" -n mirror-demo-b get configmap mirrored-settings -o jsonpath='{.data}'; echo
