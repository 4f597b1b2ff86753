#!/usr/bin/env bash
# Sealed-model load time against a plain read of the same bytes (issue #16), same machine, same run:
#   * sealed: `sealgate tee-proxy --model SEALED` — attestation to a local `sealgate broker`, the model-key release,
#     AES-256-GCM decryption of every chunk into a sealed memfd and the SHA-256 of every file checked against the
#     signed manifest (the proxy's logged `model.load_time`; the child is `sleep`);
#   * plain: the same file read in 4 MiB pieces into a memfd (python3, os.memfd_create), and
#     `sealgate model verify` of the plain directory (read + SHA-256 + signature: what loading a signed but
#     unsealed model costs);
#   * the SHA-256 of the plain file alone (python3 hashlib): the floor of a load checking a whole-file digest.
# Files are in the page cache for every run (each is read once before timing). The paths alternate run by run;
# the load average before and after is printed with the figures. Not part of CI.
# With BEFORE=PATH/TO/older/sealgate, that binary's sealed load of the same sealed model is timed too, its runs
# interleaved with the others' (before/after in one run; the broker accepts both binaries' measurements).
# Where the binary logs them, the chunks its hashing thread opened itself are printed per run (how the load's two
# cores shared the chunk reads and opens; model.chunks_opened_by_hasher), and the median time of the load's per-byte
# part (model.decrypt_time) against the plain read and the SHA-256 alone.
# With PROFILE=FILE, one more sealed load of each binary runs after the timed ones under a system-wide `perf record
# -g` (root; `apt-get install -y linux-perf`), written to FILE (FILE.before for BEFORE), and the busiest threads of
# the sealgate process and their top symbols are printed.
# Needs python3 with model-signing and cryptography.
# Usage: [BEFORE=PATH/TO/older/sealgate] [PROFILE=FILE] Benchmarks/model-load.sh PATH/TO/sealgate [MiB (default 512)] [runs (default 5)]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-512}
runs=${3:-5}
before=${BEFORE:+$(realpath "$BEFORE")}
profile=${PROFILE:+$(realpath -m "$PROFILE")}
signer=$(command -v model_signing || echo "$(dirname "$(command -v python3)")/model_signing")
work=$(mktemp -d)
bport=18481; pport=18482
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); model: one ${mib} MiB file; $runs runs each"
mkdir model
head -c $((mib << 20)) /dev/urandom >model/weights.bin
python3 - <<'PY'
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1())
open("signer.key.pem", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open("signer.pub.pem", "wb").write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PY
"$signer" sign key --private_key signer.key.pem --signature model.sig model >/dev/null 2>&1
proxy_args=(--upstream "http://127.0.0.1:9" --workload model:bench --broker "http://127.0.0.1:$bport" --port "$pport" --data-dir proxy)
"$bin" tee-proxy "${proxy_args[@]}" --reference-values >rv.json
if [ -n "$before" ]; then
    # Same data dir, so the same mock signing key: one more accepted measurement in the same set.
    "$before" tee-proxy "${proxy_args[@]}" --reference-values >rv-before.json
    python3 - <<'PY'
import json
rv, other = json.load(open("rv.json")), json.load(open("rv-before.json"))
rv["sets"][0]["measurements"] += other["sets"][0]["measurements"]
json.dump(rv, open("rv.json", "w"))
PY
fi
"$bin" broker --data-dir br --port "$bport" --reference-values rv.json >broker.log 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -fsS -o /dev/null "http://127.0.0.1:$bport/healthz" 2>/dev/null && break; sleep 0.25; done
export SEALGATE_ADMIN_TOKEN
SEALGATE_ADMIN_TOKEN=$(cat br/admin-token)
"$bin" keys provision --broker "http://127.0.0.1:$bport" bench >/dev/null
"$bin" keys provision-model --broker "http://127.0.0.1:$bport" bench/model/bench >/dev/null
"$bin" keys enrol-workload --broker "http://127.0.0.1:$bport" model:bench --name 127.0.0.1 >/dev/null
"$bin" model seal model --signature model.sig --key signer.pub.pem --out sealed --key-resource bench/model/bench --broker "http://127.0.0.1:$bport" >/dev/null
cat model/weights.bin sealed/files/*.sealed >/dev/null

# Prints the proxy's logged model.load_time (seconds) of one sealed load by binary $1; $2 names the log. Where the
# binary logs them, the chunks its hashing thread opened itself go to opened-$2 (the two cores' balance) and the
# time of the per-byte part (reading, opening and hashing every chunk) to decrypt-$2.
sealed_load() {
    "$1" tee-proxy "${proxy_args[@]}" --model sealed --model-signer-key signer.pub.pem --model-file weights.bin -- /bin/sleep 600 >"proxy-$2.log" 2>&1 &
    local pid=$! t
    echo "$pid" >"pid-$2"
    for _ in $(seq 1 600); do grep -qs "model.load_time" "proxy-$2.log" && break; sleep 0.1; done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
    t=$(grep -o 'model.load_time=[0-9.e-]* seconds' "proxy-$2.log" | head -1 | sed 's/model.load_time=//; s/ seconds//')
    [ -n "$t" ] || { cat "proxy-$2.log" >&2; return 1; }
    grep -o 'model.chunks_opened_by_hasher=[0-9]*' "proxy-$2.log" | head -1 | sed 's/.*=//' >"opened-$2" || true
    grep -o 'model.decrypt_time=[0-9.e-]* seconds' "proxy-$2.log" | head -1 | sed 's/model.decrypt_time=//; s/ seconds//' >"decrypt-$2" || true
    echo "$t"
}
sealed_times=()
before_times=()
plain_times=()
verify_times=()
# Prints the seconds of one plain read of the model into a memfd (python3, 4 MiB reads).
plain_read() {
    python3 - <<'PY'
import os, time
start = time.perf_counter()
fd = os.memfd_create("plain")
with open("model/weights.bin", "rb", buffering=0) as f:
    while chunk := f.read(4 << 20):
        os.write(fd, chunk)
os.close(fd)
print(time.perf_counter() - start)
PY
}
# Prints the seconds of the SHA-256 of the plain file alone (python3 hashlib, OpenSSL's SHA-NI code, 4 MiB reads):
# the floor of any load that checks a whole-file digest, which one core must compute in order.
sha256_only() {
    python3 - <<'PY'
import hashlib, time
start = time.perf_counter()
h = hashlib.sha256()
with open("model/weights.bin", "rb", buffering=0) as f:
    while chunk := f.read(4 << 20):
        h.update(chunk)
h.digest()
print(time.perf_counter() - start)
PY
}
sha_times=()
# Alternated run by run (sealed, plain read, verify, then the same again), so a change in the machine's load
# reaches every path alike.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq 1 "$runs"); do
    [ -z "$before" ] || before_times+=("$(sealed_load "$before" "before-$i")")
    sealed_times+=("$(sealed_load "$bin" "$i")")
    plain_times+=("$(plain_read)")
    sha_times+=("$(sha256_only)")
    start=$(date +%s.%N)
    "$bin" model verify model --bundle model.sig --key signer.pub.pem >/dev/null
    verify_times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
# Profiles one sealed load of binary $1 into perf data $2: samples of every CPU for the load's duration (whoever
# else runs shows up too; the report keeps the sealgate process).
profile_load() {
    perf record -F 1999 -a -g -o "$2" -- sleep 600 >/dev/null 2>&1 &
    local perf_pid=$!
    sleep 1
    sealed_load "$1" "profile" >/dev/null
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    local pid
    pid=$(cat pid-profile)
    echo "== profile of $1 ($2): share of its tee-proxy's samples (pid $pid) per thread, then per thread and symbol"
    # `--sort pid` lists threads (tid:name); percentages of this process's samples.
    perf report -i "$2" --pid "$pid" --percentage relative --sort pid --stdio --no-children -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true
    perf report -i "$2" --pid "$pid" --percentage relative --sort pid,sym --stdio --no-children -g none --percent-limit 1.5 2>/dev/null |
        grep -E '^ +[0-9]' | head -30 || true
}
if [ -n "$profile" ]; then
    [ -z "$before" ] || profile_load "$before" "$profile.before"
    profile_load "$bin" "$profile"
fi
opened=$(for i in $(seq 1 "$runs"); do cat "opened-$i" 2>/dev/null; done | xargs)
decrypt=$(for i in $(seq 1 "$runs"); do cat "decrypt-$i" 2>/dev/null; done | xargs)
python3 - "$mib" "${sealed_times[*]}" "${plain_times[*]}" "${verify_times[*]}" "${before_times[*]}" "$opened" "${sha_times[*]}" "$decrypt" <<'PY'
import statistics, sys
mib = int(sys.argv[1])
sealed, plain, verify, before = ([float(x) for x in a.split()] for a in sys.argv[2:6])
opened = sys.argv[6].split()
sha = statistics.median(float(x) for x in sys.argv[7].split())
decrypt = [float(x) for x in sys.argv[8].split()]
s, p, v = statistics.median(sealed), statistics.median(plain), statistics.median(verify)
if before:
    b = statistics.median(before)
    print(f"sealed load, BEFORE binary:                                     median {b*1000:.0f} ms ({mib/b:.0f} MiB/s); ratio {b/p:.2f}x plain read")
print(f"sealed load (attest + key release + decrypt + verify into memfd): median {s*1000:.0f} ms ({mib/s:.0f} MiB/s)")
print(f"plain read into memfd:                                          median {p*1000:.0f} ms ({mib/p:.0f} MiB/s)")
print(f"plain read + SHA-256 + signature (sealgate model verify):       median {v*1000:.0f} ms ({mib/v:.0f} MiB/s)")
print(f"SHA-256 alone of the plain file (python3 hashlib):              median {sha*1000:.0f} ms ({mib/sha:.0f} MiB/s)")
print(f"ratio sealed / plain read: {s/p:.2f}x (target <= 1.5x); sealed / verified plain: {s/v:.2f}x; sealed / SHA-256 alone: {s/sha:.2f}x")
print("runs (ms): sealed " + " ".join(f"{x*1000:.0f}" for x in sealed) + "; plain " + " ".join(f"{x*1000:.0f}" for x in plain))
if before:
    print("runs (ms): before " + " ".join(f"{x*1000:.0f}" for x in before))
if decrypt:
    d = statistics.median(decrypt)
    print(f"of the sealed load, reading + opening + hashing the chunks (model.decrypt_time): median {d*1000:.0f} ms; "
          f"{d/p:.2f}x the plain read, {d/sha:.2f}x the SHA-256 alone; the rest (signature, attestation, key release, "
          f"destinations) {(s-d)*1000:.0f} ms")
if opened:
    print(f"chunks the hashing thread opened itself, per run (of {mib // 4} 4 MiB chunks): " + " ".join(opened))
PY
