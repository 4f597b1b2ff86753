#!/usr/bin/env bash
# Gateway RSS under a sustained chat load (issue #12 defect 8): a demo gateway, wrk posting
# /v1/chat/completions at concurrency 8, VmRSS sampled after every slice, with the request count so far.
# Usage: Benchmarks/gateway-soak.sh BINARY SLICES SECONDS-PER-SLICE   (e.g. .build/release/sealgate 10 30)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-.build/release/sealgate}; slices=${2:-10}; secs=${3:-30}
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)"; exit 2; }
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --demo --data-dir "$work/data" --port "$port" >"$work/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.5; done
export SEALGATE_KEY=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$work/data/demo-credentials.json")
cat >"$work/chat.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"extractive","messages":[{"role":"user","content":"How many remote days per week?"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SEALGATE_KEY")
wrk.headers["Sealgate-Data-Class"] = "internal"
wrk.headers["Sealgate-Scope"] = "handbook"
LUA
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
total=0
echo "slice requests_total rss_kib"
echo "0 0 $(rss)"
for i in $(seq 1 "$slices"); do
  n=$(wrk -t2 -c8 -d"${secs}s" -s "$work/chat.lua" "http://127.0.0.1:$port/v1/chat/completions" | awk '/requests in/ {print $1}')
  total=$((total + n))
  echo "$i $total $(rss)"
done
echo "non-2xx or errors in the log: $(grep -c 'error' "$work/serve.log" || true)"
