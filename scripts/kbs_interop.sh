#!/usr/bin/env bash
# KBS RCAR interop: runs the independent Python client (scripts/kbs_interop.py) against a fresh `sealgate broker`.
#
#   bash scripts/kbs_interop.sh .build/debug/sealgate
#
# In a temp dir: measures the demo gateway (mock signing key + reference values accepting its mock evidence),
# starts the broker on a free loopback port, provisions tenant acme (KEK acme/kek/internal rotated once, so
# versions 1 decrypt_only + 2 active; secret acme/secret/gateway-salt), runs the client, stops the broker and
# exits with the client's status (1 also when set-up fails; the broker log is printed then).
# Needs python3 with jwcrypto and cryptography (installed with pip when missing) and curl.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/sealgate" >&2
  exit 2
fi
bin=$1
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
[ -x "$bin" ] || { echo "kbs_interop: $bin is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

python3 -c 'import jwcrypto, cryptography' 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check jwcrypto cryptography

work=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

"$bin" measure --demo --data-dir gw --reference-values >rv.json
"$bin" measure --demo --data-dir gw >measure.json
read -r exe_digest policy_digest < <(python3 -c \
  'import json,sys; m=json.load(open(sys.argv[1])); print(m["executable_digest"], m["policy_digest"])' measure.json)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
url="http://127.0.0.1:$port"
"$bin" broker --host 127.0.0.1 --port "$port" --data-dir br --reference-values rv.json >broker.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if ! curl -fsS "$url/healthz" >/dev/null 2>&1 || [ ! -s br/admin-token ]; then
  echo "kbs_interop: the broker did not come up on $url" >&2
  cat broker.log >&2
  exit 1
fi

provision() {
  if ! "$bin" keys "$@" --broker "$url" --token-file br/admin-token >>provision.log 2>&1; then
    echo "kbs_interop: provisioning failed: keys $*" >&2
    cat provision.log broker.log >&2
    exit 1
  fi
}
provision create-tenant acme
provision create acme internal
provision rotate acme internal
provision put-secret acme gateway-salt

status=0
python3 "$here/kbs_interop.py" --broker "$url" --sealgate "$bin" --gateway-data-dir gw \
  --admin-token-file br/admin-token --executable-digest "$exe_digest" --policy-digest "$policy_digest" || status=$?
if [ "$status" -ne 0 ]; then
  echo "---- broker log" >&2
  tail -n 50 broker.log >&2
fi
exit "$status"
