#!/usr/bin/env bash
# The dashboard's cost: /dashboard/data latency while /v1/query runs under wrk (as in http-load.sh), and the
# query p99 with and without dashboards polling (10 open dashboards: 2 requests/s of the day view, the heaviest,
# as the auditor). Runs alternate (without, with, without, with, ...) so drift of the shared machine hits both;
# the figure is the ratio of the median p99s. Also prints the page weight.
# Usage: Benchmarks/dashboard.sh [seconds-per-run] [rounds]   (SEALGATE_BIN=path skips the release build;
# SEALGATE_CHUNKS sets the corpus size, default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-15}
rounds=${2:-3}
bin=${SEALGATE_BIN:-}
if [ -z "$bin" ]; then swift build -c release --product sealgate >/dev/null; bin=.build/release/sealgate; fi
work=$(mktemp -d)
port=18094
"$bin" serve --demo --data-dir "$work/data" --port "$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
creds="$work/data/demo-credentials.json"
export SEALGATE_KEY=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$creds")
auditor=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['auditor']['api_key'])" "$creds")
echo "binary: $bin; machine: $(nproc) cores shared by server, wrk and the poller"
python3 Benchmarks/ingest_corpus.py "http://127.0.0.1:$port" "$SEALGATE_KEY" --chunks "${SEALGATE_CHUNKS:-2000}" >/dev/null
curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/query" -H "Authorization: Bearer $SEALGATE_KEY" \
  -d '{"question":"warm up","data_class":"internal","scope":{"collections":["bench"]}}'
echo "page weight: $(curl -fsS -H "Authorization: Bearer $auditor" "http://127.0.0.1:$port/dashboard" | wc -c) bytes uncompressed"
echo "day view body: $(curl -fsS -H "Authorization: Bearer $auditor" "http://127.0.0.1:$port/dashboard/data?range=day" | wc -c) bytes"
# Server CPU time per request (user+system from /proc, less sensitive than latency to other load on the machine):
# 200 day views against 200 queries, sequentially.
python3 - "$port" "$pid" "$SEALGATE_KEY" "$auditor" <<'PY'
import os, sys, urllib.request
port, pid, key, auditor = sys.argv[1:5]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick * 1000
def cost(n, make):
    before = cpu()
    for i in range(n):
        urllib.request.urlopen(make(i)).read()
    return (cpu() - before) / n
query = lambda i: urllib.request.Request(f"http://127.0.0.1:{port}/v1/query", method="POST", headers={"Authorization": "Bearer " + key},
    data=b'{"question":"Who approves the invoice request?","data_class":"internal","scope":{"collections":["bench"]}}')
view = lambda i: urllib.request.Request(f"http://127.0.0.1:{port}/dashboard/data?range=day", headers={"Authorization": "Bearer " + auditor})
q, d = cost(200, query), cost(200, view)
print(f"server CPU per request: query {q:.2f} ms, dashboard day view {d:.2f} ms; 2 views/s cost the CPU of {2 * d / q:.2f} queries/s")
PY
cat >"$work/poll.py" <<'PY'
import sys, time, threading, urllib.request
port, key, seconds, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
times = []
end = time.time() + seconds
while time.time() < end:
    start = time.perf_counter()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/dashboard/data?range=day", headers={"Authorization": "Bearer " + key})
    urllib.request.urlopen(req).read()
    times.append((time.perf_counter() - start) * 1000)
    time.sleep(max(0, 0.5 - (time.perf_counter() - start)))
open(out, "a").write("\n".join(f"{t:.3f}" for t in times) + "\n")
PY
run() {
  SEALGATE_ENDPOINT=query wrk -t2 -c16 -d"${secs}s" --timeout 10s -s Benchmarks/request.lua "http://127.0.0.1:$port/v1/query" | grep RESULT
}
: >"$work/dash.ms"
for r in $(seq 1 "$rounds"); do
  base=$(run); echo "round $r without dashboards: $base"; echo "$base" >>"$work/without"
  python3 "$work/poll.py" "$port" "$auditor" "$secs" "$work/dash.ms" &
  poller=$!
  with=$(run); wait "$poller"; echo "round $r with 2 dashboard requests/s: $with"; echo "$with" >>"$work/with"
done
python3 - "$work" <<'PY'
import re, statistics, sys
work = sys.argv[1]
p99 = lambda f: [float(re.search(r"p99_ms=([\d.]+)", l).group(1)) for l in open(f"{work}/{f}")]
without, with_ = statistics.median(p99("without")), statistics.median(p99("with"))
times = sorted(float(t) for t in open(f"{work}/dash.ms").read().split())
pct = lambda q: times[min(len(times) - 1, int(q * len(times)))]
print(f"query p99 (median of rounds): without {without:.2f} ms, with dashboards {with_:.2f} ms, ratio {with_ / without:.3f} (target <= 1.05)")
print(f"/dashboard/data?range=day under load: n={len(times)} p50={pct(0.5):.2f} ms p99={pct(0.99):.2f} ms max={times[-1]:.2f} ms")
PY
