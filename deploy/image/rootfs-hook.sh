#!/usr/bin/env bash
# mmdebstrap extract hook of deploy/image/build.sh: completes the extracted root filesystem $1 with the
# sealgate binary and its Swift runtime libraries ($2), a non-root user, the CA bundle and the writable paths.
set -euo pipefail
root=$1
payload=$2
uid=${SEALGATE_UID:-10001}

install -d -m 0755 "$root/opt/sealgate"
for f in "$payload"/*; do
  install -m "$( [ "$(basename "$f")" = sealgate ] && echo 0755 || echo 0644 )" "$f" "$root/opt/sealgate/"
done

# Users: root owns every file; sealgate ($uid) runs the process and owns only its state directory.
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nsealgate:x:%s:%s:sealgate:/var/lib/sealgate:/usr/sbin/nologin\n' "$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\nsealgate:x:%s:\n' "$uid" >"$root/etc/group"
chmod 0644 "$root/etc/passwd" "$root/etc/group"
install -d -m 0700 -o "$uid" -g "$uid" "$root/var/lib/sealgate"
install -d -m 1777 "$root/tmp"
# Mount points a container runtime expects (the extract variant creates none).
install -d -m 0555 "$root/proc" "$root/sys"

# ca-certificates' maintainer script does not run in an extract root filesystem: build its bundle the
# way update-ca-certificates does (every Mozilla certificate, in name order).
install -d "$root/etc/ssl/certs"
find "$root/usr/share/ca-certificates/mozilla" -name '*.crt' | LC_ALL=C sort | xargs cat >"$root/etc/ssl/certs/ca-certificates.crt"
chmod 0644 "$root/etc/ssl/certs/ca-certificates.crt"

# Nothing in the image needs these; keep each package's copyright file.
find "$root/usr/share/doc" -type f ! -name copyright -delete
rm -rf "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/lintian" "$root/usr/share/locale"
rm -f "$root/usr/bin/openssl" "$root/usr/bin/c_rehash"
