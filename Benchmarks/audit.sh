#!/usr/bin/env bash
# Durable audit appends per second (group commit, fsync per batch) with 1, 16 and 64 concurrent writers, and
# full-log verification throughput next to `openssl speed sha256` in the same run.
# Usage: Benchmarks/audit.sh [records]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-40000}
swift build -c release --product sealgate >/dev/null
bin=.build/release/sealgate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); filesystem: $(df -T "$work" | awk 'NR==2 {print $2}')"
for writers in 1 16 64; do
  n=$records; [ "$writers" = 1 ] && n=$(( records / 4 ))
  "$bin" audit load --dir "$work/w$writers/audit" --records "$n" --writers "$writers"
done
# Verification of the largest log: recompute every leaf and node hash, check every leaf and checkpoint.
log="$work/w64"
"$bin" audit load --dir "$log/audit" --records 1 --writers 1 >/dev/null   # appends one more; load ends with a checkpoint
bytes=$(stat -c %s "$log/audit/entries")
entries=$(python3 -c "import sys; d=open(sys.argv[1],'rb').read(); i=n=0
while i+4<=len(d): l=int.from_bytes(d[i:i+4],'big'); i+=4+l; n+=1
print(n)" "$log/audit/entries")
avg=$(( bytes / entries ))
echo "verify ($entries entries, $avg bytes each on average; timed inside the verifier, file read included):"
# Five runs each; the median is reported (the runs are tens of milliseconds, so one run is noisy).
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
one=$(for _ in 1 2 3 4 5; do taskset -c 0 "$bin" audit verify --data-dir "$log" | grep -o "[0-9.]* MB/s" | cut -d' ' -f1; done)
all=$(for _ in 1 2 3 4 5; do "$bin" audit verify --data-dir "$log" | grep -o "[0-9.]* MB/s" | cut -d' ' -f1; done)
echo "  one core (taskset -c 0): median $(echo "$one" | median) MB/s  (runs: $(echo $one))"
echo "  all $(nproc) cores:           median $(echo "$all" | median) MB/s  (runs: $(echo $all))"
k=$(taskset -c 0 openssl speed -seconds 3 -bytes "$avg" sha256 2>/dev/null | awk '/^sha256/ {print $NF}' | tr -d k)
ossl=$(python3 -c "print(f'{float(\"$k\")/1000:.1f}')")
echo "openssl speed sha256 (one core) at ${avg} bytes: $ossl MB/s"
echo "ratio: one core $(python3 -c "print(f'{$(echo "$one" | median)/$ossl:.2f}')"), all cores $(python3 -c "print(f'{$(echo "$all" | median)/$ossl:.2f}')") (target >= 0.5)"
