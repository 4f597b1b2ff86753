#!/usr/bin/env bash
# End to end: a `sealgate witness` and a demo gateway with audit.witnesses; the gateway's served checkpoint must
# carry the witness's cosignature, `audit verify --witness` must pass over HTTP and offline, and the independent
# Python check (scripts/witness_cosignature_check.py) must verify the served note; receipts of a query, a chat and a
# streamed chat must verify witnessed (scripts/receipt_e2e.py).
# Usage: scripts/witness_e2e.sh PATH/TO/sealgate
set -euo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
gport=18291
wport=18292
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
data="$work/gateway"

"$bin" measure --demo --data-dir "$data" >/dev/null
mkdir -m 700 -p "$data/audit"
python3 -c "import os; fd=os.open('$data/audit/checkpoint.key', os.O_WRONLY|os.O_CREAT|os.O_EXCL, 0o600); os.write(fd, os.urandom(32).hex().encode())"
log_key=$("$bin" audit key --data-dir "$data")
witness_key=$("$bin" witness key --data-dir "$work/witness" --name e2e.sealgate.local/witness)
python3 - "$data/sealgate.yaml" "http://127.0.0.1:$wport" "$witness_key" <<'PY'
import sys, yaml
path, url, key = sys.argv[1:]
config = yaml.safe_load(open(path))
config.setdefault("audit", {})["witnesses"] = [{"url": url, "key": key}]
config["audit"]["witness_quorum"] = 1
config["audit"]["checkpoint_interval_seconds"] = 0.5
yaml.safe_dump(config, open(path, "w"), sort_keys=False)
PY
"$bin" config check "$data/sealgate.yaml"

"$bin" witness --data-dir "$work/witness" --name e2e.sealgate.local/witness --port "$wport" --log "$log_key" 2>"$work/witness.log" &
pids+=($!)
"$bin" serve --demo --data-dir "$data" --port "$gport" >"$work/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$gport/readyz" >/dev/null 2>&1 && break; sleep 0.25; done
curl -fsS "http://127.0.0.1:$gport/readyz" >/dev/null || { cat "$work/serve.log"; exit 1; }
key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$data/demo-credentials.json")
auditor=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['auditor']['api_key'])" "$data/demo-credentials.json")
# Any answer or refusal is an audit record: this grows the log.
curl -sS -o /dev/null "http://127.0.0.1:$gport/v1/query" -H "Authorization: Bearer $key" \
  -d '{"question":"Where do visitors park?","data_class":"internal"}'
# The cosignature arrives in the background: wait until the served checkpoint covers the query and is cosigned.
for _ in $(seq 1 80); do
  curl -fsS "http://127.0.0.1:$gport/audit/checkpoint" >"$work/note.txt"
  size=$(sed -n 2p "$work/note.txt")
  if [ "$size" -gt 0 ] && grep -q "^— e2e.sealgate.local/witness " "$work/note.txt"; then break; fi
  sleep 0.25
done
cat "$work/note.txt"
"$bin" audit verify --url "http://127.0.0.1:$gport" --api-key "$auditor" --key "$log_key" --witness "$witness_key"
python3 "$root/scripts/witness_cosignature_check.py" note "$work/note.txt" --log-key "$log_key" --witness-key "$witness_key"
python3 "$root/scripts/receipt_e2e.py" "$bin" "http://127.0.0.1:$gport" "$key" "$log_key" "$witness_key"
# With the witness gone no witnessed checkpoint covers a new answer: its receipt is 503 receipt_pending, and that
# refusal is an audit record (read back through /audit/entries) and a labelled count in /metrics.
kill -TERM "${pids[0]}"; wait "${pids[0]}" || true
python3 - "http://127.0.0.1:$gport" "$key" "$auditor" <<'PY'
import json, re, sys, urllib.error, urllib.request
base, key, auditor = sys.argv[1:]
def call(path, token=None, body=None):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"} if token else {}
    request = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, response.read().decode()
def pending_count():
    found = re.search(r'^sealgate_denials_total\{reason="receipt_pending",tenant="acme",data_class="-",route="audit_read"\} (\d+)$',
                      call("/metrics")[1], re.M)
    return int(found.group(1)) if found else 0
headers, _ = call("/v1/query", key, {"question": "Where do visitors park?", "data_class": "internal", "scope": {"collections": ["handbook"]}})
index = int(re.search(r"index=(\d+)", headers["Sealgate-Receipt"]).group(1))
before = pending_count()
try:
    call(f"/v1/receipts/{index}", key)
    raise SystemExit("a proof was served with no witness left to cosign it")
except urllib.error.HTTPError as refused:
    problem = json.loads(refused.read())
    assert refused.code == 503 and problem["type"] == "urn:sealgate:problem:receipt_pending", (refused.code, problem)
    assert refused.headers["Retry-After"] == "1"
    audit_index = int(refused.headers["Sealgate-Audit-Index"])
record = json.loads(json.loads(call(f"/audit/entries/{audit_index}", auditor)[1])["entry"])["record"]
assert (record["kind"], record["outcome"], record["reason"], record["tenant"]) == ("audit_read", "denied", "receipt_pending", "acme"), record
assert pending_count() == before + 1, "receipt_pending not counted in sealgate_denials_total"
print(f"receipt_pending: audited at #{audit_index} and counted")
PY
kill -TERM "${pids[1]}"; wait "${pids[1]}" || true
"$bin" audit verify --data-dir "$data" --key "$log_key" --witness "$witness_key"
if "$bin" audit verify --data-dir "$data" --key "$log_key" --witness "$witness_key" --witness "$("$bin" witness key --data-dir "$work/other")" >/dev/null; then
  echo "a two-witness policy passed with one cosignature"; exit 1
fi
echo "witness end to end: ok"
