#!/usr/bin/env bash
# Sigstore bundle verifications per second (Swift, in-process) next to the Python `sigstore` library on the same
# bundles, one core, alternated in the same run (ROUNDS rounds, default 2); the raw signature verifications the bundles
# are made of (swift-crypto next to `openssl speed -elapsed`); then model-directory hashing MB/s next to `sha256sum`
# on the same files. Every rate is printed per wall-clock second and, as `…_cpu`, per CPU second of the process;
# the `ratio_…` lines are Swift over Python (medians of the rounds).
#   Benchmarks/sigstore.sh [SECONDS] [MiB of test files]    (needs `pip install sigstore`)
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-3}
mib=${2:-512}
rounds=${ROUNDS:-2}
vectors=$(cd ../.. && pwd)/shared/vectors
swift build -c release --package-path . --product SigstoreBench >/dev/null
work=$(mktemp -d)
rates=$(mktemp)
trap 'rm -rf "$work" "$rates"' EXIT
for i in 1 2 3 4; do head -c $((mib / 4))M /dev/urandom >"$work/shard-$i.bin"; done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(uptime | sed 's/.*load/load/')"
for round in $(seq "$rounds"); do
  taskset -c 0 .build/release/SigstoreBench "$vectors" "$secs" "$work" keyed_oms,cert_rekor1,cert_rekor2_tsa | tee -a "$rates"
  taskset -c 0 python3 sigstore_python.py "$vectors" "$secs" | tee -a "$rates"
done
taskset -c 0 .build/release/SigstoreBench "$vectors" "$secs" "$work" p256_raw,p384_raw,ed25519_raw
taskset -c 0 openssl speed -elapsed -seconds "$secs" -mr ecdsap256 ecdsap384 ed25519 2>/dev/null \
  | awk -F: '/^\+F4:/ { print "openssl_p" $3 "_raw_verifies_per_s," int($5) } /^\+F6:/ { print "openssl_ed25519_raw_verifies_per_s," int($6) }'
python3 - "$rates" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    name, value = line.strip().split(",")
    rates.setdefault(name, []).append(int(value))
for case in ("cert_rekor1", "cert_rekor2_tsa"):
    for suffix in ("", "_cpu"):
        swift = statistics.median(rates[f"{case}_verify_per_s{suffix}"])
        python = statistics.median(rates[f"python_{case}_verify_per_s{suffix}"])
        print(f"ratio_{case}{suffix},{swift / python:.2f}")
PY
echo "$(uptime | sed 's/.*load/load/')"
cat "$work"/*.bin >/dev/null  # warm the page cache for both
.build/release/SigstoreBench "$vectors" 0.1 "$work" hash | grep hash_
start=$(date +%s.%N); taskset -c 0 sha256sum "$work"/*.bin >/dev/null; end=$(date +%s.%N)
echo "sha256sum_1_core_MB_per_s,$(python3 -c "print(int($mib*1048576/1e6/($end-$start)))")"
start=$(date +%s.%N); ls "$work"/*.bin | xargs -P "$(nproc)" -n 1 sha256sum >/dev/null; end=$(date +%s.%N)
echo "sha256sum_parallel_MB_per_s,$(python3 -c "print(int($mib*1048576/1e6/($end-$start)))")"
