#!/usr/bin/env bash
# Sigstore bundle verifications per second (Swift, in-process) next to the Python `sigstore` library on the same
# bundles, one core, same run; then model-directory hashing MB/s next to `sha256sum` on the same files.
#   Benchmarks/sigstore.sh [SECONDS] [MiB of test files]    (needs `pip install sigstore`)
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-3}
mib=${2:-512}
vectors=$(cd ../.. && pwd)/shared/vectors
swift build -c release --package-path . --product SigstoreBench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in 1 2 3 4; do head -c $((mib / 4))M /dev/urandom >"$work/shard-$i.bin"; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
taskset -c 0 .build/release/SigstoreBench "$vectors" "$secs" "$work" | grep verify
taskset -c 0 python3 sigstore_python.py "$vectors" "$secs"
cat "$work"/*.bin >/dev/null  # warm the page cache for both
.build/release/SigstoreBench "$vectors" 0.1 "$work" | grep hash_
start=$(date +%s.%N); taskset -c 0 sha256sum "$work"/*.bin >/dev/null; end=$(date +%s.%N)
echo "sha256sum_1_core_MB_per_s,$(python3 -c "print(int($mib*1048576/1e6/($end-$start)))")"
start=$(date +%s.%N); ls "$work"/*.bin | xargs -P "$(nproc)" -n 1 sha256sum >/dev/null; end=$(date +%s.%N)
echo "sha256sum_parallel_MB_per_s,$(python3 -c "print(int($mib*1048576/1e6/($end-$start)))")"
