#!/usr/bin/env bash
# Attested TLS against plain HTTP and against nginx terminating TLS with the same key type (ECDSA P-256), on the
# same machine in one run, and the broker's workload-certificate issuance latency:
#   * full TLS handshakes per second: `openssl s_time -new` (one client, a new session per connection, no request)
#     against `sealgate serve --attested-tls` and nginx (self-signed ECDSA P-256 certificate, `return 200`);
#   * requests per second over keep-alive connections: wrk on GET /healthz, attested TLS vs plain HTTP vs nginx
#     (HTTPS, a fixed 200);
#   * issuance rate and p50/p99 at a `sealgate broker` with `gateway` enrolled (Benchmarks/cert-issuance.py).
# The servers run on core 0 and the clients on core 1 (TLS_PIN=0: no pinning). Release build; not part of CI.
# Needs nginx, wrk and openssl (Debian: apt-get install -y nginx-light wrk openssl).
# Usage: [TLS_PIN=0] Benchmarks/attested-tls.sh [seconds-per-run] [prebuilt sealgate binary]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=Benchmarks/lib.sh
. Benchmarks/lib.sh
secs=${1:-10}
bin=${2:-}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for tool in nginx wrk openssl; do command -v "$tool" >/dev/null || { echo "attested-tls: $tool is not installed" >&2; exit 2; }; done
build() { "$@" >"$work/build.log" 2>&1 || { tail -40 "$work/build.log"; echo "build failed: $*" >&2; exit 1; }; }
if [ -z "$bin" ]; then
  build swift build -c release --product sealgate
  bin=.build/release/sealgate
fi
bin=$(realpath "$bin")
server_cpu=() client_cpu=()
if [ "${TLS_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then server_cpu=(taskset -c 0) client_cpu=(taskset -c 1); fi
wait_for() {  # URL [curl args...]
  local url=$1; shift
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$@" "$url" 2>/dev/null && return 0; sleep 0.2; done
  echo "attested-tls: $url did not answer" >&2; exit 1
}

attested=$(free_port) plain=$(free_port) nginx_port=$(free_port) nginx_ca_port=$(free_port)
"${server_cpu[@]}" "$bin" serve --demo --data-dir "$work/attested" --port "$attested" --attested-tls >"$work/attested.log" 2>&1 &
pids+=($!)
"${server_cpu[@]}" "$bin" serve --demo --data-dir "$work/plain" --port "$plain" >"$work/plain.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do [ -s "$work/attested/ca.pem" ] && break; sleep 0.2; done
wait_for "https://127.0.0.1:$attested/readyz" --cacert "$work/attested/ca.pem"
wait_for "http://127.0.0.1:$plain/readyz"

# nginx, one worker on the server core, with an ECDSA P-256 key in two ways: (a) a self-signed certificate (the
# client checks no signature at all) and (b) like the gateway's, a leaf signed by an ECDSA P-384 CA that the client
# trusts, the leaf alone on the wire (the client checks one P-384 signature, as it does for the gateway). (b) is the
# like-for-like reference: the same client work, so the ratio compares the servers.
openssl ecparam -name prime256v1 -genkey -noout -out "$work/nginx.key" 2>/dev/null
openssl req -new -x509 -key "$work/nginx.key" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 -out "$work/nginx.pem" 2>/dev/null
openssl ecparam -name secp384r1 -genkey -noout -out "$work/ca.key" 2>/dev/null
openssl req -new -x509 -key "$work/ca.key" -subj "/CN=bench CA" -days 1 -sha384 -out "$work/ca.pem" 2>/dev/null
openssl req -new -key "$work/nginx.key" -subj /CN=127.0.0.1 -out "$work/leaf.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >"$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 1 -sha384 \
  -extfile "$work/leaf.ext" -out "$work/leaf.pem" 2>/dev/null
nginx_preamble "$work" >"$work/nginx.conf"
cat >>"$work/nginx.conf" <<EOF
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/nginx.pem;
    ssl_certificate_key $work/nginx.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 '{"status":"ok"}'; }
  }
  server {
    listen 127.0.0.1:$nginx_ca_port ssl;
    ssl_certificate $work/leaf.pem;
    ssl_certificate_key $work/nginx.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 '{"status":"ok"}'; }
  }
}
EOF
"${server_cpu[@]}" nginx -c "$work/nginx.conf" -p "$work/nginx" >"$work/nginx.out" 2>&1 &
pids+=($!)
wait_for "https://127.0.0.1:$nginx_port/healthz" --cacert "$work/nginx.pem"
wait_for "https://127.0.0.1:$nginx_ca_port/healthz" --cacert "$work/ca.pem"

echo "== machine: $(nproc) cores, $(uname -r); $("$bin" --version | head -1); $(nginx -v 2>&1); $(openssl version)"
hz=$(getconf CLK_TCK)
handshakes() {  # NAME PORT CAFILE PID: full handshakes per wall-clock second (s_time's "N connections in T real
  # seconds") and per second of the server's CPU (user+system from /proc, which other load on the machine disturbs
  # far less than the wall-clock rate)
  local out conns real before after
  before=$(cpu_ticks "$4")
  out=$("${client_cpu[@]}" openssl s_time -connect "127.0.0.1:$2" -CAfile "$3" -new -time "$secs" 2>&1 || true)
  after=$(cpu_ticks "$4")
  conns=$(echo "$out" | awk '/real seconds/ {print $1; exit}')
  real=$(echo "$out" | awk '/real seconds/ {print $4; exit}')
  echo "handshakes,$1,${conns:-?} in ${real:-?} s,$(python3 -c "print(f'{${conns:-0}/max(1,${real:-1}):.0f}')")/s,server CPU $(python3 -c "print(f'{($after-$before)/$hz:.2f}')") s,$(python3 -c "print(f'{${conns:-0}*$hz/max(1,$after-$before):.0f}')")/CPU-s"
}
for round in 1 2; do  # alternated, so drift of a shared machine hits every server
  handshakes "attested#$round" "$attested" "$work/attested/ca.pem" "${pids[0]}"
  handshakes "nginx_ca_issued#$round" "$nginx_ca_port" "$work/ca.pem" "${pids[2]}"
  handshakes "nginx_self_signed#$round" "$nginx_port" "$work/nginx.pem" "${pids[2]}"
done

requests() {  # NAME URL
  local out
  out=$("${client_cpu[@]}" wrk -t1 -c16 -d"${secs}s" "$2" 2>&1)
  echo "requests,$1,$(echo "$out" | awk '/Requests\/sec/ {print $2}')/s,p50 $(echo "$out" | awk '/Latency/ {print $2; exit}')"
}
requests attested_tls "https://127.0.0.1:$attested/healthz"
requests plain_http "http://127.0.0.1:$plain/healthz"
requests nginx_tls "https://127.0.0.1:$nginx_port/healthz"

# Issuance at a standalone broker, from one client over one keep-alive connection (Benchmarks/cert-issuance.py;
# `KBSBench --mode cert` measures the same with the gateway's own client and concurrency, after a release build of
# the Benchmarks package).
"${client_cpu[@]}" python3 Benchmarks/cert-issuance.py "$bin" --requests 2000
