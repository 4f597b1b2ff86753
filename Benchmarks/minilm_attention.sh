#!/usr/bin/env bash
# MiniLM attention on its own (issue #16): the fused AVX-512 kernel against the unfused path, in one process,
# alternated, on one pinned core; see docs/benchmarks.md. Needs an AVX-512 CPU. Usage:
#   bash Benchmarks/minilm_attention.sh [LENGTH ...]     (default: 128 13 256)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
grep -q avx512f /proc/cpuinfo || { echo "this CPU lacks AVX-512: the fused attention never runs here" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/module.modulemap" <<MAP
module MiniLMPrefetch {
    header "$root/Sources/MiniLMPrefetch/include/MiniLMPrefetch.h"
    export *
}
MAP
# The kernel files as the package compiles them (-O, skylake-avx512), whole-module as in a release build.
swiftc -O -wmo -target-cpu skylake-avx512 -Xcc -fmodule-map-file="$work/module.modulemap" -module-name MiniLMAttentionBench \
    "$root/Benchmarks/minilm_attention/main.swift" "$root"/Sources/MiniLMKernelsAVX512/*.swift -o "$work/bench"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
lengths=("$@")
[ ${#lengths[@]} -gt 0 ] || lengths=(128 13 256)
for length in "${lengths[@]}"; do
    taskset -c 1 "$work/bench" "$length"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
