#!/usr/bin/env bash
# The gateway's own CPU per /v1/chat/completions request with an upstream model (issue #17 item 4): everything
# but the upstream call — TLS-less HTTP parsing, authentication, the access decision, retrieval over the demo
# handbook (hash embedder, a few chunks), decryption of the hits, the upstream request and its JSON, redaction,
# the audit record (durable, group commit), metrics and the response.
#   * the upstream is nginx answering a fixed OpenAI chat.completion (so its cost is tiny and measured apart);
#   * wrk drives the gateway at c=16 for the given seconds, one thread on the client core;
#   * the gateway's user+system CPU time from /proc over the run, divided by the requests wrk completed;
#   * the same for nginx as a reverse proxy to that upstream (the floor a proxy pays: HTTP in, HTTP out).
# With a reference binary (say, one built from main), it runs as a second gateway on the same configuration, and
# the two are measured back to back, alternated (reference, candidate, reference, candidate), in the same run; the
# last line gives the candidate's CPU per request as a ratio of the reference's.
# With PERF=1 the (candidate) gateway runs once more under `perf record -g` (not counted in the RATIO); the top symbols are printed, then
# the samples by stage (Benchmarks/perf-stages.py: HTTP server, upstream client, retrieval, audit, hand-offs, ...).
# With SWITCHES=1 every run also counts the process's context switches (`perf stat`) per request: the thread
# hand-offs (event loop, Swift concurrency pool, SQLite thread pool, audit writer) a request costs.
# With PEERS=litellm, LiteLLM's proxy (an OpenAI-compatible proxy in Python, pinned below) runs as a third proxy to
# the same upstream and is measured the same way (CPU of its process and all its children per request, same wrk,
# same c) in the same run, one RESULT line like nginx's; where `litellm` is not installed the script says it skipped
# it and goes on. LITELLM names the executable (default: `litellm` on PATH).
# Release build; not part of CI. Needs nginx, wrk (Debian: nginx-light wrk), and perf for PERF=1 or SWITCHES=1.
# Usage: Benchmarks/chat-path.sh [seconds] [sealgate binary] [reference sealgate binary]
#   (default: 15 s, .build-release/release/sealgate, no reference)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib.sh
. Benchmarks/lib.sh
secs=${1:-15}
bin=$(realpath "${2:-.build-release/release/sealgate}")
ref=${3:+$(realpath "$3")}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for tool in nginx wrk; do command -v "$tool" >/dev/null || { echo "chat-path: $tool is not installed" >&2; exit 2; }; done
server_cpu=() client_cpu=()
if [ "$(nproc)" -ge 2 ]; then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi
upstream=$(free_port) proxy=$(free_port) gateway=$(free_port) reference=$(free_port) litellm_port=$(free_port)
# The LiteLLM release measured in docs/benchmarks.md: pip install 'litellm[proxy]==$litellm_pinned'.
litellm_pinned=1.108.7

answer='{"id":"chatcmpl-bench","object":"chat.completion","created":1765000000,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"Home internet is reimbursed up to the monthly limit in the handbook; write to payroll@example.com with the invoice."},"finish_reason":"stop"}],"usage":{"prompt_tokens":120,"completion_tokens":24,"total_tokens":144}}'
nginx_preamble "$work" >"$work/nginx.conf"
cat >>"$work/nginx.conf" <<EOF
  upstream model { server 127.0.0.1:$upstream; keepalive 32; }
  server {
    listen 127.0.0.1:$upstream;
    location / { default_type application/json; return 200 '$answer'; }
  }
  server {
    listen 127.0.0.1:$proxy;
    location / { proxy_pass http://model; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
"${server_cpu[@]}" nginx -c "$work/nginx.conf" -p "$work/nginx" >"$work/nginx.out" 2>&1 &
pids+=($!)

key=$(openssl rand -hex 24)
key_sha=$(printf %s "$key" | sha256sum | cut -d' ' -f1)
cat >"$work/sealgate.yaml" <<EOF
tenants:
  - id: acme
    principals:
      - { id: acme-app, read: ["*"], write: ["*"], data_classes: ["*"], api_key_sha256: $key_sha }
data_classes:
  - { name: public,   models: [upstream], redaction_profile: basic, allow_mock_evidence: true }
  - { name: internal, models: [upstream], redaction_profile: all,   allow_mock_evidence: true }
models:
  - id: upstream
    type: openai
    base_url: http://127.0.0.1:$upstream/v1
    insecure_unattested: true
    model: bench
EOF
body='{"model":"upstream","messages":[{"role":"user","content":"Who pays for home internet?"}]}'
headers=(-H "Authorization: Bearer $key" -H 'Content-Type: application/json' -H 'Sealgate-Data-Class: internal' -H 'Sealgate-Scope: handbook')
# start_gateway BINARY PORT NAME: serves the configuration above from its own data directory; sets $started (its PID)
# once it answers a first chat with retrieved passages, after 200 warm-up requests.
start_gateway() {
  "${server_cpu[@]}" "$1" serve --demo --config "$work/sealgate.yaml" --data-dir "$work/data-$3" --port "$2" >"$work/$3.log" 2>&1 &
  started=$!
  pids+=("$started")
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$2/readyz" 2>/dev/null && break; sleep 0.2; done
  local status
  status=$(curl -sS -o "$work/first-$3.json" -w '%{http_code}' "${headers[@]}" -d "$body" "http://127.0.0.1:$2/v1/chat/completions")
  [ "$status" = 200 ] || { echo "chat-path: $3's first chat answered $status: $(cat "$work/first-$3.json")" >&2; tail -20 "$work/$3.log" >&2; exit 1; }
  echo "$3 first answer: $(python3 -c "import json,sys; a=json.load(open(sys.argv[1])); print(len(a['sealgate']['citations']), 'passages retrieved and cited')" "$work/first-$3.json")"
  for _ in $(seq 1 200); do curl -sS -o /dev/null "${headers[@]}" -d "$body" "http://127.0.0.1:$2/v1/chat/completions"; done
}
# start_litellm: LiteLLM's proxy with the upstream as its one model (named `upstream`, so the gateway's request body
# serves both), one worker, no database, its master key as the one credential (checked on every request, as the
# gateway checks its API key), the local model cost map (no network);
# sets $litellm_pid once it answers a first chat, after 200 warm-up requests like the gateways'.
litellm_pid=""
start_litellm() {
  local exe=${LITELLM:-litellm} version status
  if ! command -v "$exe" >/dev/null; then
    echo "chat-path: LiteLLM skipped: $exe is not installed (pip install 'litellm[proxy]==$litellm_pinned')"
    return
  fi
  version=$("$(dirname "$(command -v "$exe")")/python" -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null ||
    python3 -c 'import importlib.metadata as m; print(m.version("litellm"))' 2>/dev/null || echo unknown)
  [ "$version" = "$litellm_pinned" ] || echo "chat-path: LiteLLM $version, not the pinned $litellm_pinned: its figure is not comparable with docs/benchmarks.md"
  cat >"$work/litellm.yaml" <<EOC
model_list:
  - model_name: upstream
    litellm_params: { model: openai/bench, api_base: "http://127.0.0.1:$upstream/v1", api_key: none }
litellm_settings: { telemetry: false, drop_params: true }
general_settings: { master_key: "sk-$key" }
EOC
  LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR "${server_cpu[@]}" "$exe" --config "$work/litellm.yaml" --host 127.0.0.1 \
    --port "$litellm_port" --num_workers 1 >"$work/litellm.log" 2>&1 &
  litellm_pid=$!
  pids+=("$litellm_pid")
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "http://127.0.0.1:$litellm_port/health/liveliness" 2>/dev/null && break; sleep 0.2; done
  status=$(curl -sS -o "$work/first-litellm.json" -w '%{http_code}' "${litellm_headers[@]}" -d "$body" "http://127.0.0.1:$litellm_port/v1/chat/completions" || true)
  if [ "$status" != 200 ]; then
    echo "chat-path: LiteLLM skipped: its first chat answered $status" >&2
    tail -20 "$work/litellm.log" >&2
    kill "$litellm_pid" 2>/dev/null || true
    litellm_pid=""
    return
  fi
  echo "litellm $version first answer: $(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['choices'][0]['finish_reason'])" "$work/first-litellm.json")"
  for _ in $(seq 1 200); do curl -sS -o /dev/null "${litellm_headers[@]}" -d "$body" "http://127.0.0.1:$litellm_port/v1/chat/completions"; done
}
litellm_headers=(-H "Authorization: Bearer sk-$key" -H 'Content-Type: application/json')
case ",${PEERS:-}," in
  *,litellm,*) start_litellm ;;
  *) echo "chat-path: LiteLLM not measured (PEERS=litellm adds it)" ;;
esac
start_gateway "$bin" "$gateway" sealgate
gw=$started
if [ -n "$ref" ]; then
  start_gateway "$ref" "$reference" reference
  ref_pid=$started
fi

cat >"$work/litellm.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Authorization"] = "Bearer sk-$key"
wrk.headers["Content-Type"] = "application/json"
EOF
cat >"$work/chat.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Authorization"] = "Bearer $key"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Sealgate-Data-Class"] = "internal"
wrk.headers["Sealgate-Scope"] = "handbook"
EOF
hz=$(getconf CLK_TCK)
nginx_pid=$(cat "$work/nginx/nginx.pid")
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
# wrk over c=16 keep-alive connections; the CPU of PID per completed request (µs), and the upstream's own.
run() {  # NAME PORT PID
  local before after up_before up_after out requests non2xx
  local stat_pid="" switches=-1
  if [ "${SWITCHES:-0}" = 1 ]; then
    perf stat -e context-switches -x, -p "$3" -o "$work/switches-$1" -- sleep "$secs" >/dev/null 2>&1 &
    stat_pid=$!
  fi
  before=$(cpu_ticks "$3"); up_before=$(cpu_ticks "$nginx_worker")
  out=$("${client_cpu[@]}" wrk -t1 -c16 -d"${secs}s" -s "$work/${LUA:-chat}.lua" "http://127.0.0.1:$2/v1/chat/completions" 2>&1)
  after=$(cpu_ticks "$3"); up_after=$(cpu_ticks "$nginx_worker")
  if [ -n "$stat_pid" ]; then
    wait "$stat_pid" || true
    switches=$(awk -F, '/context-switches/ {print $1}' "$work/switches-$1" 2>/dev/null || true)
  fi
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  python3 - "$1" "$requests" "${non2xx:-0}" "$((after - before))" "$((up_after - up_before))" "$hz" "$secs" "${switches:--1}" <<'PY' | tee -a "$work/results"
import sys
name, requests, bad, ticks, upstream, hz, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
switches = int(sys.argv[8]) if sys.argv[8].lstrip("-").isdigit() else -1
cpu = ticks / hz * 1e6 / max(1, requests)
extra = f"; {switches / max(1, requests):.1f} context switches per request" if switches >= 0 else ""
print(f"RESULT {name}: {requests} requests ({bad} not 2xx) in {secs:.0f} s = {requests / secs:.0f}/s; "
      f"CPU per request {cpu:.0f} µs (nginx worker, upstream and proxy together: {upstream / hz * 1e6 / max(1, requests):.0f} µs){extra}")
PY
}
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg); $("$bin" --version | head -1); $(nginx -v 2>&1)"
run nginx_proxy "$proxy" "$nginx_worker"
if [ -n "$litellm_pid" ]; then LUA=litellm run litellm_proxy "$litellm_port" "$litellm_pid"; fi
if [ -n "$ref" ]; then
  run reference "$reference" "$ref_pid"
  run sealgate "$gateway" "$gw"
  run reference "$reference" "$ref_pid"
fi
run sealgate "$gateway" "$gw"
if [ "${PERF:-0}" = 1 ]; then
  # One more run under perf, kept out of the RATIO (recording costs the gateway CPU of its own).
  perf record -F 1999 -g -p "$gw" -o "$work/perf.data" -- sleep "$secs" >/dev/null 2>&1 &
  perf_pid=$!
  run sealgate_perf "$gateway" "$gw"
  wait "$perf_pid" || true
  cp "$work/perf.data" "${PERF_OUT:-/tmp/chat-path.perf.data}"
  echo "== perf: inclusive share of the gateway's samples by function (perf data: ${PERF_OUT:-/tmp/chat-path.perf.data})"
  { perf report -i "$work/perf.data" --children --sort symbol --stdio -g none 2>/dev/null || true; } |
    grep -v '^#' | grep '%' | swift demangle --simplified 2>/dev/null | head -80 | cut -c1-180 || true
  # Shares are scaled by the last run without perf (recording adds CPU of its own that the samples do not show).
  per_request=$(awk '/^RESULT sealgate:/ {v=$0} END {sub(/.*CPU per request /, "", v); sub(/ .*/, "", v); print v}' "$work/results")
  echo "== perf: the same samples by stage (Benchmarks/perf-stages.py; µs: shares of the last run without perf, $per_request µs per request)"
  python3 Benchmarks/perf-stages.py "$work/perf.data" "$per_request" || true
fi
if [ -n "$ref" ]; then
  python3 - "$work/results" <<'PY'
import re, sys
cpu = {}
for line in open(sys.argv[1]):
    m = re.match(r"RESULT (\S+): .*CPU per request (\d+) µs", line)
    if m: cpu.setdefault(m.group(1), []).append(int(m.group(2)))
s, r = sum(cpu["sealgate"]) / len(cpu["sealgate"]), sum(cpu["reference"]) / len(cpu["reference"])
print(f"RATIO sealgate / reference CPU per request: {s / r:.2f} (means of {len(cpu['sealgate'])} and {len(cpu['reference'])} alternated runs: {s:.0f} / {r:.0f} µs); load {open('/proc/loadavg').read().split()[0]}")
PY
fi
