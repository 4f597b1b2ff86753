#!/usr/bin/env bash
# PostgreSQL against SQLite for the document store, same run, same corpus: /v1/query throughput and p99 with
# 8 clients on a gateway whose documents are in SQLite and on one whose documents are in PostgreSQL (both
# attesting to the same broker on PostgreSQL), and the time from an acknowledged ingest on one gateway replica
# to the first query on the other that cites it (p50/p99 over 50 documents). Figures are ratios against the
# SQLite gateway measured in the same run. Uses a throwaway cluster (scripts/pg_cluster.sh).
# Usage: Benchmarks/postgres.sh [debug|release] [chunks] [seconds]
#   SEALGATE_BIN=path runs that binary (e.g. a release build made elsewhere) and skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-release}; chunks=${2:-2000}; seconds=${3:-15}
bin=${SEALGATE_BIN:-}
if [ -z "$bin" ]; then
  swift build -c "$config" --product sealgate >/dev/null
  bin=".build/$config/sealgate"
  build="$config build"
else
  [ -x "$bin" ] || { echo "SEALGATE_BIN=$bin is not an executable" >&2; exit 1; }
  build="binary $bin"
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $build; gateways, PostgreSQL and clients share them"
python3 scripts/replicas_e2e.py "$bin" --bench --chunks "$chunks" --seconds "$seconds"
