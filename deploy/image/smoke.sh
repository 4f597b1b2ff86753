#!/usr/bin/env bash
# Run the image of deploy/image/build.sh as Kubernetes will: its entrypoint as user 10001 on a read-only
# root filesystem, with only /var/lib/sealgate and /tmp writable (tmpfs). Starts `serve --demo` on a loopback
# port, waits for /readyz, asks one question, stops it with SIGTERM; also starts `broker` and reads /healthz.
#
#   deploy/image/smoke.sh LAYOUT_DIR [PORT]
#
# Needs root (unshare, mount, chroot) and umoci. Exit 0 only when everything answered.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../lib.sh
. "$(dirname "$0")/../lib.sh"
layout=${1:?usage: smoke.sh LAYOUT_DIR [PORT]}
port=${2:-18480}
work=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do kill -TERM "$(pgrep -P "$p")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop_all EXIT
umoci unpack --image "$layout:sealgate" "$work/bundle" >/dev/null
# The process the image's configuration starts: user, group, entrypoint and environment.
{ read -r uid; read -r gid; read -r entry; read -r env; } < <(python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))["process"]
print(p["user"]["uid"], p["user"]["gid"], p["args"][0], " ".join(p["env"]), sep="\n")
PY
)
[ "$uid" != 0 ] || { echo "smoke: the image runs as root" >&2; exit 1; }
root="$work/bundle/rootfs"

# One mount namespace: the root filesystem bound read-only, proc, and tmpfs where the image says it writes.
# unshare's child execs (through env and chroot) into the entrypoint, so `pgrep -P <unshare>` is the process.
cat >"$work/inner.sh" <<'SH'
set -e
root=$1; uid=$2; gid=$3; shift 3
mount --bind "$root" "$root" && mount -o remount,bind,ro "$root"
mount -t proc proc "$root/proc"
mount -t tmpfs -o mode=0700,uid=$uid,gid=$gid tmpfs "$root/var/lib/sealgate"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
if touch "$root/opt/probe" 2>/dev/null; then echo "smoke: root filesystem is writable" >&2; exit 1; fi
exec env -i $ENV_LIST /usr/sbin/chroot --userspec="$uid:$gid" "$root" "$@"
SH
in_image=(unshare --mount --pid --fork --kill-child sh "$work/inner.sh" "$root" "$uid" "$gid")
export ENV_LIST="$env HOME=/var/lib/sealgate"

"${in_image[@]}" "$entry" --version | tee "$work/version"
grep -q '^executable sha-384: ' "$work/version"

"${in_image[@]}" "$entry" serve --demo --host 127.0.0.1 --port "$port" --data-dir /var/lib/sealgate >"$work/serve.log" 2>&1 &
pid=$!
pids+=("$pid")
if ! wait_http "http://127.0.0.1:$port/readyz" "$pid" 240; then echo "smoke: gateway in the image never became ready" >&2; cat "$work/serve.log" >&2; kill "$pid" 2>/dev/null || true; exit 1; fi
echo "gateway in the image: /healthz $(curl -fsS "http://127.0.0.1:$port/healthz"), /readyz 200"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/query" -d '{}')
[ "$status" = 401 ] || { echo "smoke: unauthenticated query got $status, expected 401" >&2; exit 1; }
# unshare ignores SIGTERM while it waits: signal its child, the gateway itself.
kill -TERM "$(pgrep -P "$pid")"
wait "$pid" || { echo "smoke: the gateway did not exit cleanly on SIGTERM" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "gateway in the image: 401 without a key, clean exit on SIGTERM"

bport=$((port + 1))
"${in_image[@]}" "$entry" broker --host 127.0.0.1 --port "$bport" --data-dir /var/lib/sealgate/broker >"$work/broker.log" 2>&1 &
bpid=$!
pids+=("$pid")
ok=0
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$bport/healthz" >/dev/null 2>&1; then ok=1; break; fi
  kill -0 "$bpid" 2>/dev/null || break
  sleep 0.5
done
kill -TERM "$(pgrep -P "$bpid")" 2>/dev/null || true
wait "$bpid" || true
[ "$ok" = 1 ] || { echo "smoke: broker in the image never answered /healthz" >&2; cat "$work/broker.log" >&2; exit 1; }
echo "broker in the image: /healthz ok"
echo "smoke: ok (user $uid, read-only root filesystem)"
