#!/usr/bin/env bash
# Key broker over HTTP on loopback: full RCAR round trips per second (auth, attest with mock evidence, resource,
# JWE decrypt — what a gateway does to obtain a KEK) with p50/p99, and resource requests per second with a valid
# token (with and without decrypting the JWE), at concurrency 1 and 16; GET /healthz with the same client and
# concurrency as the HTTP floor. A release `sealgate broker` with a scratch data dir, reference values from
# `sealgate measure --reference-values`, tenant acme with KEK acme/kek/internal from `sealgate keys provision`.
# The broker is pinned to core 0 and KBSBench to core 1 (KBS_PIN=0: no pinning; one core: both share it).
# Usage: [KBS_PIN=0] [KBS_PERF=1] Benchmarks/kbs.sh [seconds-per-run] [prebuilt sealgate binary]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=${2:-}
work=$(mktemp -d)
pid=
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi; rm -rf "$work"' EXIT
build() { "$@" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; echo "build failed: $*" >&2; exit 1; }; }
if [ -z "$bin" ]; then
  build swift build -c release --product sealgate
  bin=.build/release/sealgate
fi
bin=$(realpath "$bin")
build swift build -c release --package-path Benchmarks --product KBSBench
bench=$(realpath Benchmarks/.build/release/KBSBench)

broker_cpu=() client_cpu=()
if [ "${KBS_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then broker_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"

# The gateway side: its mock measurement (this binary + default policy) and dev signing key; reference values that
# accept exactly that evidence.
"$bin" measure --data-dir "$work/gw" --reference-values >"$work/reference-values.json"
"$bin" measure --data-dir "$work/gw" >"$work/measurement.json"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$work/measurement.json" "$1"; }
exec_digest=$(field executable_digest)
policy_digest=$(field policy_digest)

"${broker_cpu[@]}" "$bin" broker --data-dir "$work/broker" --port "$port" --reference-values "$work/reference-values.json" \
  >"$work/broker.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do curl -fsS "$url/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
curl -fsS "$url/healthz" >/dev/null || { cat "$work/broker.log"; exit 1; }
"$bin" keys provision acme --class internal --broker "$url" --token-file "$work/broker/admin-token" >/dev/null

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(free -g | awk '/^Mem:/ {print $2}') GiB;" \
  "broker data dir on $(df -T "$work" | awk 'NR==2 {print $2}')"
if [ ${#broker_cpu[@]} -gt 0 ]; then echo "broker pinned to core 0, KBSBench to core 1"; else echo "broker and KBSBench share all cores"; fi
args=(--broker "$url" --mock-key "$work/gw/mock-tee/signing-key.pem" --measurement-exec "$exec_digest" --measurement-policy "$policy_digest")
{
  "${client_cpu[@]}" "$bench" --mode local --duration 2 "${args[@]}"
  for c in 1 16; do
    "${client_cpu[@]}" "$bench" --mode roundtrip --concurrency "$c" --duration "$secs" "${args[@]}"
    "${client_cpu[@]}" "$bench" --mode resource --concurrency "$c" --duration "$secs" --no-baseline "${args[@]}"
  done
} >"$work/raw.csv"
cat "$work/raw.csv"
echo
python3 - "$work/raw.csv" <<'PY'
import sys
rows = [l.strip().split(",") for l in open(sys.argv[1]) if l.strip()]
label = {
    "healthz": "GET /healthz (HTTP floor)",
    "roundtrip": "RCAR round trip (auth, attest, resource, decrypt)",
    "resource": "GET resource with token, JWE not decrypted",
    "resource_decrypt": "GET resource with token + JWE decrypt",
    "local_mock_evidence": "client only: mock evidence (no HTTP)",
    "local_jwe_decrypt": "client only: JWE decrypt (no HTTP)",
}
print(f"| {'run':<52} | {'conc':>4} | {'ops/s':>9} | {'p50 ms':>7} | {'p99 ms':>7} | {'errors':>6} |")
print(f"|{'-'*54}|{'-'*5}:|{'-'*10}:|{'-'*8}:|{'-'*8}:|{'-'*7}:|")
for r in rows:
    if r[0] == "result":
        _, name, conc, secs, ops, rate, p50, p99, errors = r
        print(f"| {label.get(name, name):<52} | {conc:>4} | {float(rate):>9,.1f} | {p50:>7} | {p99:>7} | {errors:>6} |")
stages = [r for r in rows if r[0] == "stage"]
if stages:
    print()
    for conc in sorted({r[2] for r in stages}, key=int):
        parts = [f"{r[3]} {r[4]}/{r[5]}" for r in stages if r[2] == conc]
        print(f"round-trip stages at concurrency {conc} (p50/p99 ms): " + ", ".join(parts))
for r in rows:
    if r[0] == "error":
        print(f"errors: {r[1]} c={r[2]}: {r[3]} x{r[4]}")
PY
# KBS_PERF=1: afterwards (outside the figures above), profile the broker with perf at concurrency 16, resource then
# round-trip mode, and print the heaviest frames (inclusive share of the broker's samples).
if [ "${KBS_PERF:-0}" = 1 ] && ! command -v perf >/dev/null; then echo "KBS_PERF=1 needs perf"; fi
if [ "${KBS_PERF:-0}" = 1 ] && command -v perf >/dev/null; then
  for mode in resource roundtrip; do
    "${client_cpu[@]}" "$bench" --mode "$mode" --concurrency 16 --duration "$(( secs + 2 ))" --no-baseline "${args[@]}" >/dev/null &
    cpid=$!
    sleep 2
    perf record -F 999 -g -p "$pid" -o "$work/perf-$mode.data" -- sleep "$secs" >/dev/null 2>&1
    wait "$cpid"
    echo
    echo "broker profile, $mode at concurrency 16 (share of broker samples; by library, then frames inclusive of callees):"
    { perf report -i "$work/perf-$mode.data" --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8; } || true
    { perf report -i "$work/perf-$mode.data" --no-children --sort symbol -g none 2>/dev/null \
      | awk '/^ +[0-9]/ && !/\$s/ && /CCryptoBoringSSL|nistz256|bn_|aes|gcm|sha256_block|sha512_block/ {sub("%", "", $1); c += $1}
             END {printf "%7.2f%%  in BoringSSL (self: ECDSA, ECDH, AES-GCM, SHA-2)\n", c}'; } || true
    { perf report -i "$work/perf-$mode.data" --children --sort symbol -g none 2>/dev/null | grep -E '^ +[0-9].*\] \$s' \
      | swift demangle --simplified | grep -vE 'thunk|partial apply|closure #|NIOThread|EventLoop|Result<>' \
      | awk '{printf "%8s  ", $1; $1=$2=$3=""; sub(/^ +/, ""); sub(/ +- -$/, ""); print}' | cut -c1-130 | head -24; } || true
  done
fi
echo "broker log: $(wc -l <"$work/broker.log") lines; audit entries: $(python3 -c "import sys; d=open(sys.argv[1],'rb').read(); i=n=0
while i+4<=len(d): l=int.from_bytes(d[i:i+4],'big'); i+=4+l; n+=1
print(n)" "$work/broker/audit/entries" 2>/dev/null || echo '?')"
