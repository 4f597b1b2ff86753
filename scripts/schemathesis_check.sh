#!/usr/bin/env bash
# Property-based contract check: schemathesis (v4) against a live gateway (openapi.yaml) and a live broker
# (docs/broker-openapi.yaml).
#
#   bash scripts/schemathesis_check.sh .build/debug/sealgate
#
# Installs nothing: CI installs schemathesis with pip (`python3 -m pip install 'schemathesis>=4,<5'`).
# In a temp dir: starts `sealgate serve --demo` on a free loopback port, waits for /readyz, takes the demo
# tenant key (acme) and auditor key from <data-dir>/demo-credentials.json and runs schemathesis over every
# operation of openapi.yaml; then starts `sealgate broker` (as scripts/kbs_interop.sh does) and runs it over
# docs/broker-openapi.yaml with the admin token from the broker's data dir.
# Checks: not_a_server_error (no 5xx at all: the demo holds its lease, so even a documented 503 is a failure
# here), status_code_conformance, content_type_conformance, response_schema_conformance,
# response_headers_conformance, ignored_auth (a protected operation refuses requests without or with a wrong
# credential) and negative_data_rejection (data the document calls invalid is refused: the document is not
# stricter than the server). A third run pins the demo's data class, model and scope and checks that every
# request openapi.yaml calls valid for /v1/query and ingest is accepted (positive_data_acceptance: the
# document is not looser than the server).
# Keys reach schemathesis through the environment of its process (its config file names ${VARS}), never
# through argv or the output; schemathesis sanitizes Authorization in what it prints.
# Bounded: SCHEMATHESIS_MAX_EXAMPLES (default 25) cases per operation and phase, a fixed seed, a 10 s request
# timeout and SCHEMATHESIS_TIMEOUT (default 200 s) per run, after which the run is killed and counts as failed
# (schemathesis' own --max-time is a budget that fuzzing spends in full, not a limit).
# Prints each run's requests, 5xx responses and failed checks, then 'schemathesis check: N passed, N failed'
# (operations of both documents with every check clean / with a failed check) and exits 1 on any failure.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/sealgate" >&2
  exit 2
fi
bin=$1
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "schemathesis_check: $bin is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
command -v schemathesis >/dev/null || { echo "schemathesis_check: schemathesis is not installed (pip install 'schemathesis>=4,<5')" >&2; exit 2; }
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
run_timeout=${SCHEMATHESIS_TIMEOUT:-200}

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# wait_for URL PID LOG: polls URL (at most 60 s) while PID lives.
wait_for() {
  for _ in $(seq 1 300); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$2" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "schemathesis_check: $1 did not answer" >&2
  tail -n 40 "$3" >&2
  return 1
}

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth,negative_data_rejection

# run NAME SPEC URL CHECKS [ARGS...]: schemathesis over SPEC against URL with the config file ./NAME.toml and
# ARGS; adds the run's operations to passed/failed and prints its requests, 5xx responses and failed checks.
passed=0
failed=0
run() {
  local name=$1 spec=$2 url=$3 run_checks=$4 status=0 counts good bad
  shift 4
  echo "== $(schemathesis --version 2>&1 | tail -n 1): $name ($spec)"
  timeout -k 5 "$run_timeout" schemathesis --config-file "$name.toml" run "$spec" --url "$url" \
    --checks "$run_checks" --max-examples "$max_examples" --request-timeout 10 "$@" \
    --phases examples,coverage,fuzzing --seed 1 --workers 1 --no-color --suppress-health-check all \
    --report ndjson --report-dir "report-$name" >"$name.out" 2>&1 || status=$?
  counts=$(python3 "$here/schemathesis_tally.py" "report-$name" "$name") || counts="0 1"
  read -r good bad <<<"$counts"
  # schemathesis failed without a failed check (an error such as a schema it cannot load): count the run.
  if [ "$status" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  passed=$((passed + good))
  failed=$((failed + bad))
  if [ "$status" -ne 0 ]; then
    echo "---- schemathesis output ($name, exit $status)"
    sed -n '/= FAILURES =\|= ERRORS =/,/= SUMMARY =/p' "$name.out" | head -n 200
    tail -n 25 "$name.out"
  fi
}

# ---- gateway
gw_port=$(free_port)
"$bin" serve --demo --data-dir gw --host 127.0.0.1 --port "$gw_port" >gw.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$gw_port/readyz" "${pids[0]}" gw.log
cred() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d[sys.argv[2]]["acme"]["api_key"] if sys.argv[2] == "tenants" else d["auditor"]["api_key"])' gw/demo-credentials.json "$1"; }
SG_TENANT_KEY=$(cred tenants)
SG_AUDITOR_KEY=$(cred auditor)
export SG_TENANT_KEY SG_AUDITOR_KEY
cat >gateway.toml <<'EOF'
[auth.openapi.bearerAuth]
bearer = "${SG_TENANT_KEY}"
[auth.openapi.auditorAuth]
bearer = "${SG_AUDITOR_KEY}"
EOF
run gateway "$repo/openapi.yaml" "http://127.0.0.1:$gw_port" "$checks"
# Acceptance: with the demo's data class, model and scope pinned (the schema cannot know which classes a
# deployment defines), every request the schema calls valid must be accepted — the document may not be looser
# than the server (#12 defect 5: an empty question, a blank text). Chat is left out: its question is the last
# user message, which no schema can pin.
cat >gateway-acceptance.toml <<'EOF'
[auth.openapi.bearerAuth]
bearer = "${SG_TENANT_KEY}"

[[operations]]
include-operation-id = "query"
parameters = { "body.data_class" = "internal", "body.model_policy" = "extractive", "body.scope" = { collections = ["handbook"] } }

[[operations]]
include-operation-id = "ingestDocument"
parameters = { "body.data_class" = "internal", "path.collection" = "schemathesis" }
EOF
run gateway-acceptance "$repo/openapi.yaml" "http://127.0.0.1:$gw_port" \
  positive_data_acceptance,not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --mode positive --include-operation-id query --include-operation-id ingestDocument
unset SG_TENANT_KEY SG_AUDITOR_KEY
kill "${pids[0]}" 2>/dev/null || true
wait "${pids[0]}" 2>/dev/null || true
for secret in "$(cred tenants)" "$(cred auditor)"; do
  if grep -qrF -- "$secret" gateway.out gateway-acceptance.out gw.log report-gateway report-gateway-acceptance; then
    echo "schemathesis_check: a demo key appears in the schemathesis output, its report or the gateway log" >&2
    failed=$((failed + 1))
  fi
done

# ---- broker
"$bin" measure --demo --data-dir gwm --reference-values >rv.json
br_port=$(free_port)
"$bin" broker --host 127.0.0.1 --port "$br_port" --data-dir br --reference-values rv.json >br.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$br_port/healthz" "${pids[1]}" br.log
for _ in $(seq 1 50); do [ -s br/admin-token ] && break; sleep 0.1; done
[ -s br/admin-token ] || { echo "schemathesis_check: no br/admin-token" >&2; exit 1; }
SG_ADMIN_TOKEN=$(cat br/admin-token)
export SG_ADMIN_TOKEN
# revokeCredential revokes only this spare credential: schemathesis reads names from responses, and revoking
# the bootstrap admin (allowed once it has created another admin) would leave every later request a 401.
(umask 077; printf 'Authorization: Bearer %s\n' "$SG_ADMIN_TOKEN" >admin.header)
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$br_port/admin/v0/credentials" -H @admin.header \
  -H 'Content-Type: application/json' -d '{"name":"st-revocable","roles":["reader"]}'
rm -f admin.header
cat >broker.toml <<'EOF'
[auth.openapi.adminBearer]
bearer = "${SG_ADMIN_TOKEN}"

[[operations]]
include-operation-id = "revokeCredential"
parameters = { "path.name" = "st-revocable" }
EOF
run broker "$repo/docs/broker-openapi.yaml" "http://127.0.0.1:$br_port" "$checks"
unset SG_ADMIN_TOKEN
if grep -qrF -- "$(cat br/admin-token)" broker.out br.log report-broker; then
  echo "schemathesis_check: the admin token appears in the schemathesis output, its report or the broker log" >&2
  failed=$((failed + 1))
fi

echo "schemathesis check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
