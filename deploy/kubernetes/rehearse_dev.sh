#!/usr/bin/env bash
# Rehearse the dev overlay's generated inputs on loopback, without Kubernetes: generate.py's reference values,
# release policies and mock TEE key must let a gateway that runs the overlay's configuration get its keys from a
# real `sealgate broker`, and a gateway with any other mock key must be refused (attestation_denied).
#
#   deploy/kubernetes/rehearse_dev.sh SEALGATE_BINARY [PORT]
#
# The configuration is the overlay's, with one tenant added and its storage section removed (the gateway then
# uses its embedded SQLite store: no PostgreSQL is needed here); measurement and policy digest are computed
# over that same file, exactly as generate.py does with --binary. ~10 s.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$here/../lib.sh"
bin=$(realpath "${1:?usage: rehearse_dev.sh SEALGATE_BINARY [PORT]}")
port=${2:-18681}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cp -r "$here" "$work/k"
rm -rf "$work/k/overlays/dev/generated"

key="sg_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
python3 - "$work/k/overlays/dev/sealgate.yaml" "$(printf %s "$key" | sha256sum | cut -c1-64)" "$work/config.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("tenants: []", "tenants:\n  - id: acme\n    principals:\n"
    "      - {id: app, read: ['*'], write: ['*'], api_key_sha256: %s}" % sys.argv[2])
open(sys.argv[1], "w").write(text)
open(sys.argv[3], "w").write(re.sub(r"^storage:\n(  .*\n)+", "", text, flags=re.M))
PY
digest=$("$bin" config check "$work/config.yaml" | sed -n 's/.*policy digest \([0-9a-f]\{64\}\).*/\1/p')
"$bin" measure --reference-values --data-dir "$work/measure" --config "$work/config.yaml" --set-id sealgate-gateway-dev >"$work/rv.json"
python3 "$work/k/generate.py" dev --image "registry.example/sealgate@sha256:$(printf rehearsal | sha256sum | cut -c1-64)" \
  --postgres-address 192.0.2.10 --database-url postgres://sealgate:rehearsal@sealgate-postgres:5432/sealgate \
  --policy-digest "$digest" --reference-values "$work/rv.json" --mock-key "$work/measure/mock-tee/signing-key.pem" >/dev/null
gen="$work/k/overlays/dev/generated"

"$bin" broker --host 127.0.0.1 --port "$port" --data-dir "$work/broker" \
  --reference-values "$gen/reference-values.json" --policies "$gen/policies.json" >"$work/broker.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/healthz" "${pids[0]}" 60 || { cat "$work/broker.log"; exit 1; }
SEALGATE_ADMIN_TOKEN=$(cat "$work/broker/admin-token") "$bin" keys provision acme --broker "http://127.0.0.1:$port" \
  --class public --class internal >/dev/null

# The gateway as the Pod runs it: the generated mock key at <data-dir>/mock-tee/signing-key.pem, --attester mock.
gateway() {   # data-dir port
  "$bin" serve --config "$work/config.yaml" --data-dir "$1" --host 127.0.0.1 --port "$2" \
    --broker "http://127.0.0.1:$port" --attester mock >"$1.log" 2>&1 &
  pids+=($!)
}
mkdir -p "$work/gw/mock-tee" && chmod 700 "$work/gw" "$work/gw/mock-tee"
cp "$gen/mock-tee/signing-key.pem" "$work/gw/mock-tee/signing-key.pem"
gateway "$work/gw" $((port + 1))
gw_pid=${pids[-1]}
wait_http "http://127.0.0.1:$((port + 1))/readyz" "$gw_pid" 120 || { echo "the gateway with the generated key got no keys:"; tail -5 "$work/gw.log"; exit 1; }
base="http://127.0.0.1:$((port + 1))/v1"
curl -fsS "$base/collections/notes/documents" -H "Authorization: Bearer $key" \
  -d '{"id":"parking","title":"Parking","text":"Visitors park on level two of the east garage.","data_class":"internal"}' >/dev/null
curl -fsS "$base/query" -H "Authorization: Bearer $key" \
  -d '{"question":"Where do visitors park?","data_class":"internal","scope":{"collections":["notes"]}}' | grep -q "east garage"
echo "rehearsal: a gateway with the generated mock key is ready and answers from its ingested document"

gateway "$work/gw-other" $((port + 2))   # a fresh data directory: a mock key the broker was not told about
other=none
for _ in $(seq 1 60); do   # until it has tried to attest: 503 with the reason, never 200
  other=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$((port + 2))/readyz" || true)
  case "$other" in *attestation_denied*|*' 200') break ;; esac
  sleep 0.5
done
case "$other" in
  *attestation_denied*' 503') ;;
  *) echo "a gateway with another mock key: $other"; tail -5 "$work/gw-other.log"; exit 1 ;;
esac
echo "rehearsal: a gateway with another mock key is refused (503 attestation_denied)"
