#!/usr/bin/env bash
# Interop: model directories signed by the real OpenSSF `model_signing` tool (PyPI model-signing, key-based,
# ECDSA P-256 and P-384) verified by `sealgate model verify`; then the same directories changed after signing
# (a flipped byte, an added file, a deleted file, a rename) and a wrong key must be refused with their reasons.
#
#   scripts/oms_interop.sh PATH/TO/sealgate
#
# Needs python3 with `model-signing` and `cryptography` (.ci/run installs them). Prints one line per check and
# 'oms interop: N passed, N failed'; exits 1 on any failure.
set -euo pipefail
sealgate=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
signer=$(command -v model_signing || echo "$(dirname "$(command -v python3)")/model_signing")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
passed=0
failed=0

expect() { # expect STATUS REASON NAME -- COMMAND...
    local want=$1 reason=$2 name=$3
    shift 4
    local status=0
    "$@" >out.txt 2>err.txt || status=$?
    if [ "$status" = "$want" ] && { [ -z "$reason" ] || grep -q "($reason)" err.txt; }; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: exit $status, want $want ${reason:+($reason)}"
        cat out.txt err.txt
        failed=$((failed + 1))
    fi
}

python3 - <<'PY'
import os, random
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
for name, curve in (("p256", ec.SECP256R1()), ("p384", ec.SECP384R1()), ("other", ec.SECP256R1())):
    key = ec.generate_private_key(curve)
    open(f"{name}.key.pem", "wb").write(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    open(f"{name}.pub.pem", "wb").write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
rng = random.Random(15)
for model in ("model-p256", "model-p384"):
    os.makedirs(f"{model}/tokenizer", exist_ok=True)
    open(f"{model}/config.json", "w").write('{"layers": 2}\n')
    open(f"{model}/weights.bin", "wb").write(bytes(rng.getrandbits(8) for _ in range(300_000)))
    open(f"{model}/tokenizer/vocab.txt", "w").write("a\nb\nc\n")
    open(f"{model}/empty.txt", "w").close()
PY

for curve in p256 p384; do
    model=model-$curve
    "$signer" sign key --private_key "$curve.key.pem" --signature "$curve.sig" "$model" >/dev/null 2>&1
    expect 0 "" "$curve: signed by model_signing, verified" -- "$sealgate" model verify "$model" --bundle "$curve.sig" --key "$curve.pub.pem"
    expect 1 signature_invalid "$curve: another key" -- "$sealgate" model verify "$model" --bundle "$curve.sig" --key other.pub.pem
    cp -r "$model" changed && printf '\x01' | dd of=changed/weights.bin bs=1 seek=1000 conv=notrunc status=none
    expect 1 model_file_changed "$curve: a byte changed" -- "$sealgate" model verify changed --bundle "$curve.sig" --key "$curve.pub.pem"
    rm -rf changed && cp -r "$model" changed && echo extra >changed/extra.txt
    expect 1 model_extra_file "$curve: a file added" -- "$sealgate" model verify changed --bundle "$curve.sig" --key "$curve.pub.pem"
    expect 0 "" "$curve: the added file ignored with --ignore-paths" -- "$sealgate" model verify changed --bundle "$curve.sig" --key "$curve.pub.pem" --ignore-paths extra.txt
    rm -rf changed && cp -r "$model" changed && rm changed/tokenizer/vocab.txt
    expect 1 model_missing_file "$curve: a file deleted" -- "$sealgate" model verify changed --bundle "$curve.sig" --key "$curve.pub.pem"
    rm -rf changed && cp -r "$model" changed && mv changed/config.json changed/config2.json
    expect 1 model_extra_file "$curve: a file renamed" -- "$sealgate" model verify changed --bundle "$curve.sig" --key "$curve.pub.pem"
    rm -rf changed
done
expect 64 "" "no key and no identity is a usage error" -- "$sealgate" model verify model-p256 --bundle p256.sig

echo "oms interop: $passed passed, $failed failed"
[ "$failed" = 0 ]
