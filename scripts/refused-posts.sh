#!/usr/bin/env bash
# Issue #12 defect 1: N refused 3 MiB POSTs (413 body_too_large, Expect disabled, Connection: close by default),
# then the gateway's open file descriptors and RSS. Usage: scripts/refused-posts.sh SEALGATE_BINARY [N] [extra curl args]
set -euo pipefail
bin=${1:?sealgate binary}; n=${2:-2000}; shift $(( $# < 2 ? $# : 2 ))
extra=("$@"); [ ${#extra[@]} -eq 0 ] && extra=(-H 'Connection: close')
dir=$(mktemp -d); port=$(( 20000 + RANDOM % 20000 ))
head -c 3145728 /dev/zero | tr '\0' a > "$dir/3MB"
"$bin" serve --demo --data-dir "$dir/data" --port "$port" > "$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.2; done
key=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['tenants']['acme']['api_key'])" "$dir/data/demo-credentials.json")
stat() { echo "$1: fds=$(ls /proc/$pid/fd | wc -l) rss_kb=$(awk '/VmRSS/{print $2}' /proc/$pid/status)"; }
stat before
codes=$(for _ in $(seq "$n"); do
  curl -s -o /dev/null -w '%{http_code}\n' -H 'Expect:' "${extra[@]}" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' --data-binary @"$dir/3MB" "http://127.0.0.1:$port/v1/query" || true
done | sort | uniq -c | tr '\n' ' ')
echo "answers: $codes"
sleep 5
stat "after $n"
