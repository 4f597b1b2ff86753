#!/usr/bin/env bash
# Verifications per second per evidence type next to `openssl speed` ECDSA verify rates, one core, same run.
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-2}
swift build -c release --package-path . --product AttestBench >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
taskset -c 0 .build/release/AttestBench ../../shared/vectors "$secs"
# openssl speed prints "sign/s verify/s" per curve; keep the verify rates.
taskset -c 0 openssl speed -seconds "$secs" ecdsap384 ecdsap256 2>/dev/null | awk '/ecdsa \(nistp(256|384)\)/ {gsub(/[()]/, "", $4); print "openssl_" $4 "_verify_per_s," $NF}'
