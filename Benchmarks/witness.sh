#!/usr/bin/env bash
# Witness cosignatures per second: a fresh `sealgate witness` driven by Benchmarks/witness_load.py with N logs
# in parallel (one keep-alive connection each), in two modes (docs/benchmarks.md, "Witness").
# Usage: Benchmarks/witness.sh [PATH/TO/sealgate] [LOGS] [REQUESTS_PER_LOG]
set -euo pipefail
bin=$(realpath "${1:-.build/debug/sealgate}")
logs=${2:-4}
requests=${3:-500}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port=18382
cd "$work"
args=()
while read -r key; do args+=(--log "$key"); done < <(python3 "$here/witness_load.py" keys "$logs")
run() {
  rm -rf "$work/w"
  "$bin" witness --data-dir "$work/w" --port "$port" --name bench.sealgate.local/witness "${args[@]}" 2>"$work/witness.log" &
  pid=$!
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  python3 "$here/witness_load.py" run "$port" --requests "$requests" --mode "$1" || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
run grow
run repeat
rm -rf "$work"
