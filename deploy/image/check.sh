#!/usr/bin/env bash
# CI check of deploy/image: build the image twice from the same binary and compare (same manifest digest, same
# blobs), run it as Kubernetes will (smoke.sh: user 10001, read-only root filesystem), sign it offline and verify
# the signature with `sealgate image verify`, and see a signature by another key refused. Needs root and the
# Debian mirror (installs mmdebstrap and umoci if missing). ~2 min with the debug binary.
#
#   deploy/image/check.sh SEALGATE_BINARY
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:?usage: deploy/image/check.sh SEALGATE_BINARY}")
if ! command -v mmdebstrap >/dev/null || ! command -v umoci >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap umoci >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

first=$("$here/build.sh" --binary "$bin" --out "$work/a" 2> >(grep '^image:' >&2) | tail -1)
second=$("$here/build.sh" --binary "$bin" --out "$work/b" 2>/dev/null | tail -1)
echo "two builds: $first $second"
[ "$first" = "$second" ] || { echo "the builds differ: not reproducible"; exit 1; }
diff <(cd "$work/a" && find . -type f | LC_ALL=C sort | xargs sha256sum) <(cd "$work/b" && find . -type f | LC_ALL=C sort | xargs sha256sum)
echo "reproducible: same manifest digest and byte-identical layouts"

"$here/smoke.sh" "$work/a"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/key.pem" 2>/dev/null
openssl pkey -in "$work/key.pem" -pubout -out "$work/key.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 2>/dev/null | openssl pkey -pubout -out "$work/other.pub.pem"
if "$bin" image verify --layout "$work/a" --key "$work/key.pub.pem" --insecure-ignore-tlog >/dev/null 2>&1; then echo "an unsigned image verified"; exit 1; fi
signed=$(python3 "$here/sign.py" "$work/a" "$work/key.pem")
# sign.py signs offline (no transparency log entry): verified as cosign verifies such a signature, with
# --insecure-ignore-tlog; without it the log entry is required.
if "$bin" image verify --layout "$work/a" --key "$work/key.pub.pem" >/dev/null 2>&1; then echo "an unlogged signature verified without --insecure-ignore-tlog"; exit 1; fi
verified=$("$bin" image verify --layout "$work/a" --key "$work/key.pub.pem" --insecure-ignore-tlog | tail -1)
if [ "$signed" != "$first" ] || [ "$verified" != "$first" ]; then echo "signed $signed, verified '$verified', built $first"; exit 1; fi
echo "sealgate image verify: the signed layout verifies ($verified)"
if "$bin" image verify --layout "$work/a" --key "$work/other.pub.pem" --insecure-ignore-tlog 2>"$work/other.err"; then echo "another key's check passed"; exit 1; fi
grep -q "refused (signature_invalid)" "$work/other.err" || { cat "$work/other.err"; exit 1; }
echo "sealgate image verify: another key is refused (signature_invalid)"
umoci stat --image "$work/a:sealgate" >/dev/null
echo "umoci still reads the signed layout"
echo "deploy/image/check.sh: reproducible, runs non-root on a read-only root, signature verified"
