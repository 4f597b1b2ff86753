#!/usr/bin/env bash
# The audit log's memory over a long run and its start-up time against log length (docs/benchmarks.md,
# "Audit log: memory and start-up"). Appends `records` through the real AuditLog with 64 writers, checkpoints
# and proof requests alongside, printing VmRSS every 100,000; then generates logs of 100k, 1M and `big`
# entries (the fast writer, as an older build left them), opens each once (the migration), times later opens, and
# one open after 1,000 records that no checkpoint covers.
# Usage: Benchmarks/audit-soak.sh [records] [big]      (defaults 1,000,000 and 10,000,000; about 3 GB of disk)
set -euo pipefail
cd "$(dirname "$0")"
records=${1:-1000000}
big=${2:-10000000}
swift build -c release --scratch-path .build-soak --product AuditSoak >/dev/null
bin=.build-soak/release/AuditSoak
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); filesystem: $(df -T "$work" | awk 'NR==2 {print $2}')"
"$bin" soak "$work/soak" "$records" 100000 64
rm -rf "$work/soak"
for n in 100000 1000000 "$big"; do
  "$bin" generate "$work/g$n" "$n"
  "$bin" open "$work/g$n" 5
  "$bin" tail "$work/g$n" 1000
  rm -rf "$work/g$n"
done
