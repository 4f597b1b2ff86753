#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a loopback port, for tests and benchmarks.
#   scripts/pg_cluster.sh start DIR PORT   → initdb into DIR, start on 127.0.0.1:PORT, print the URL (postgres://…/sealgate)
#   scripts/pg_cluster.sh stop DIR         → stop it (fast shutdown); DIR is left for the caller to remove
#   scripts/pg_cluster.sh resume DIR       → start a stopped cluster again on its port (fault tests)
# initdb refuses to run as root, so as root the cluster runs as the `postgres` user the Debian package creates.
# Trust authentication on loopback only: the cluster is for one CI run and listens nowhere else.
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (apt-get install -y postgresql)" >&2; exit 1; }
as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
user=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod 700 "$dir"; fi
    as "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    as "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" sealgate
    echo "$port" >"$dir/port"
    echo "postgres://$user@127.0.0.1:$port/sealgate"
    ;;
  resume)
    port=$(cat "$dir/port")
    as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null
    ;;
  stop)
    as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR | resume DIR" >&2; exit 2 ;;
esac
