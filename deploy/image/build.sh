#!/usr/bin/env bash
# Build an OCI image layout of sealgate from Debian packages and the release binary, reproducibly.
#
#   deploy/image/build.sh [--binary PATH] [--out DIR] [--sign-key KEY.pem] [--suite bookworm] [--mirror URL]
#
# Needs root (mmdebstrap --mode=root), mmdebstrap and umoci (Debian packages), and the Debian mirror;
# nothing else from the network. Without --binary (or SEALGATE_BINARY) it builds the release binary with
# `swift build -c release --product sealgate`. SOURCE_DATE_EPOCH (default: the commit time of HEAD) fixes
# every timestamp, so two builds from the same binary and the same mirror state give the same manifest
# digest. With --sign-key (an EC P-256 private key, PEM) it attaches a Sigstore bundle signing the manifest digest
# (sign.py) and checks it with `sealgate image verify`. Prints the image manifest digest on the last line of
# standard output. docs/deploy.md explains it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

binary=${SEALGATE_BINARY:-}
sign_key=
out=${SEALGATE_IMAGE_OUT:-$repo/.build-image/sealgate-oci}
suite=${SEALGATE_DEBIAN_SUITE:-bookworm}
mirror=${SEALGATE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SEALGATE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
tag=sealgate
uid=10001
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --sign-key) sign_key=$2; shift 2 ;;
    --suite) suite=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
done

for tool in mmdebstrap umoci; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool is missing: apt-get install -y mmdebstrap umoci" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "build.sh: run as root (mmdebstrap --mode=root writes device nodes and owners)" >&2; exit 1; }

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$repo" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
created=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)

if [ -z "$binary" ]; then
  echo "== building the release binary (swift build -c release --product sealgate)" >&2
  (cd "$repo" && swift build -c release --product sealgate >&2)
  binary="$(cd "$repo" && swift build -c release --show-bin-path)/sealgate"
fi
[ -x "$binary" ] || { echo "build.sh: '$binary' is not an executable" >&2; exit 1; }
version=$("$binary" --version | sed -n '1s/^sealgate //p')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The Swift runtime libraries the binary loads from the toolchain (not from Debian): they go beside the
# binary, which finds them through its $ORIGIN run path.
mkdir -p "$work/payload"
install -m 0755 "$binary" "$work/payload/sealgate"
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
  case "$lib" in
    /lib/*|/usr/lib/x86_64-linux-gnu/*|/usr/lib/aarch64-linux-gnu/*) ;;   # from Debian packages, installed below
    *) install -m 0644 "$lib" "$work/payload/$(basename "$lib")" ;;
  esac
done

echo "== root filesystem ($suite, SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)" >&2
# extract: packages unpacked, no maintainer scripts, no shell, no package manager in the image.
mmdebstrap --mode=root --variant=extract --format=tar \
  --include=libc6,libstdc++6,libgcc-s1,zlib1g,ca-certificates \
  --extract-hook="SEALGATE_UID=$uid \"$here/rootfs-hook.sh\" \"\$1\" \"$work/payload\"" \
  "$suite" "$work/rootfs.tar" \
  "deb $mirror $suite main" "deb $mirror $suite-updates main" "deb $security_mirror $suite-security main" \
  >"$work/mmdebstrap.log" 2>&1 || { cat "$work/mmdebstrap.log" >&2; exit 1; }

echo "== OCI layout $out" >&2
rm -rf "$out"
mkdir -p "$(dirname "$out")"
umoci init --layout "$out"
umoci new --image "$out:$tag"
umoci raw add-layer --image "$out:$tag" --history.created "$created" \
  --history.created_by "deploy/image/build.sh: mmdebstrap $suite + sealgate $version" "$work/rootfs.tar"
umoci config --image "$out:$tag" --created "$created" --history.created "$created" \
  --history.created_by "deploy/image/build.sh: image configuration" \
  --architecture "$(dpkg --print-architecture)" --os linux \
  --config.user "$uid:$uid" \
  --config.entrypoint /opt/sealgate/sealgate \
  --config.cmd serve --config.cmd --host --config.cmd 0.0.0.0 --config.cmd --port --config.cmd 8080 \
  --config.workingdir /var/lib/sealgate \
  --config.volume /var/lib/sealgate --config.volume /tmp \
  --config.env PATH=/opt/sealgate:/usr/bin:/bin \
  --config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.exposedports 8080/tcp --config.exposedports 8081/tcp \
  --config.stopsignal SIGTERM \
  --config.label org.opencontainers.image.title=sealgate \
  --config.label "org.opencontainers.image.version=$version" \
  --config.label "org.opencontainers.image.created=$created" \
  --config.label "org.opencontainers.image.description=Sealgate confidential RAG gateway and key broker" \
  --config.label dev.sealgate.run-as-non-root=true \
  --config.label dev.sealgate.read-only-root-filesystem=true \
  --config.label dev.sealgate.writable-paths=/var/lib/sealgate,/tmp \
  --manifest.annotation "org.opencontainers.image.created=$created" \
  --manifest.annotation "org.opencontainers.image.version=$version"
umoci gc --layout "$out"

manifest=$(python3 - "$out" <<'PY'
import json, sys
index = json.load(open(sys.argv[1] + "/index.json"))
images = [m for m in index["manifests"] if "subject" not in m and not m.get("artifactType", "").startswith("application/vnd.dev.sigstore.bundle")]
assert len(images) == 1, f"expected one image in index.json, found {len(images)}"
print(images[0]["digest"])
PY
)
if [ -n "$sign_key" ]; then
  python3 "$here/sign.py" "$out" "$sign_key" >/dev/null
  openssl pkey -in "$sign_key" -pubout -out "$work/signer.pub.pem"
  verified=$("$binary" image verify --layout "$out" --key "$work/signer.pub.pem" --insecure-ignore-tlog | tail -1)
  [ "$verified" = "$manifest" ] || { echo "build.sh: sealgate image verify printed '$verified', expected $manifest" >&2; exit 1; }
  echo "signed: a Sigstore bundle over $manifest is attached; sealgate image verify --key accepts it" >&2
fi
size=$(du -sb "$out" | cut -f1)
rootfs=$(stat -c %s "$work/rootfs.tar")
echo "image: $out:$tag  sealgate $version  layout $size bytes  root filesystem tar $rootfs bytes" >&2
echo "$manifest"
