#!/usr/bin/env bash
# Latency and throughput of /v1/query (10,000 ingested chunks) and /v1/chat/completions (built-in model)
# at concurrency 1, 16 and 64, measured with wrk on loopback against a release build.
# Usage: Benchmarks/http-load.sh [seconds-per-run]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
swift build -c release --product sealgate >/dev/null
work=$(mktemp -d)
port=18090
.build/release/sealgate serve --demo --data-dir "$work/data" --port "$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
export SEALGATE_KEY=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$work/data/demo-credentials.json")
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); server and wrk share them"
start=$(date +%s)
python3 Benchmarks/ingest_corpus.py "http://127.0.0.1:$port" "$SEALGATE_KEY" --chunks 10000
echo "ingest took $(( $(date +%s) - start ))s"
# Warm the tenant index (built from decrypted embeddings on first use after the lease).
curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/query" -H "Authorization: Bearer $SEALGATE_KEY" \
  -d '{"question":"warm up","data_class":"internal","scope":{"collections":["bench"]}}'
# Baseline: the same pipeline over an empty collection (no scoring, no decryption), 50 sequential requests.
python3 - "$port" "$SEALGATE_KEY" <<'PY'
import sys, time, urllib.request
port, key = sys.argv[1], sys.argv[2]
body = b'{"question":"Who approves the invoice request?","data_class":"internal","scope":{"collections":["empty"]}}'
times = []
for _ in range(50):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/query", data=body, method="POST")
    req.add_header("Authorization", "Bearer " + key)
    start = time.perf_counter()
    urllib.request.urlopen(req).read()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"empty-collection query: p50_ms={times[25]:.2f}")
PY
for endpoint in query chat; do
  path=/v1/query; [ "$endpoint" = chat ] && path=/v1/chat/completions
  for c in 1 16 64; do
    threads=2; [ "$c" = 1 ] && threads=1
    result=$(SEALGATE_ENDPOINT=$endpoint wrk -t"$threads" -c"$c" -d"${secs}s" --timeout 10s -s Benchmarks/request.lua "http://127.0.0.1:$port$path" | grep RESULT)
    echo "$endpoint c=$c $result"
  done
done
