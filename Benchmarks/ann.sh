#!/usr/bin/env bash
# The approximate index against hnswlib on the same vectors (issue #17): recall@10, QPS, p50/p99 and CPU per query on
# one core, memory per chunk, graph build on every core, snapshot load against rebuild. Release build; not run in CI.
# Usage: [QUERIES=1000] [KERNELS=selected,portable] [EFS=16,32,64,128] Benchmarks/ann.sh [n ...]
#   (EFS may include `auto`: the gateway's default width, 64 growing with the graph; sealgate side only;
#    SEALGATE_ONLY=1 skips hnswlib, e.g. to check recall at a size without the reference)
#   (default 11000 55000; 384 dimensions, clustered seeded vectors, ann_data.py; 1000000 needs ~8 GB of memory)
# Both sides build their graph on all cores (hnswlib num_threads = nproc) and answer queries one at a time pinned to
# CPU 0. Figures are ratios between the two sides of one run: the load average is printed before each side.
set -euo pipefail
cd "$(dirname "$0")"
sizes=("$@")
[ $# -eq 0 ] && sizes=(11000 55000)
efs=${EFS:-16,32,64,128}
python3 -c 'import hnswlib, numpy' 2>/dev/null || pip install --quiet hnswlib numpy
swift build -c release --package-path . --product ANNBench >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for n in "${sizes[@]}"; do
  python3 ann_data.py "$n" "$work" "${QUERIES:-1000}"
  echo "== n=$n: sealgate (int8 HNSW, M=16, efConstruction=100, rescoring from sealed vectors); $(uptime | sed 's/.*load/load/')"
  .build/release/ANNBench "$work/vectors.f32" "$work/queries.f32" 384 "$efs" "$work/truth.i32"
  [ "${SEALGATE_ONLY:-0}" = 1 ] && continue
  echo "== n=$n: hnswlib (float32, M=16, ef_construction=100); $(uptime | sed 's/.*load/load/')"
  python3 ann_hnswlib.py "$work/vectors.f32" "$work/queries.f32" 384 "$efs" "$work/truth.i32"
done
echo "done; $(uptime | sed 's/.*load/load/')"
