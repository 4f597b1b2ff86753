# shellcheck shell=bash
# Shared by the deploy scripts (sourced, not run).

# wait_http URL PID TRIES: poll URL every 0.25 s until it answers 2xx (return 0), PID exits or TRIES run out (1).
wait_http() {   # URL PID TRIES [curl options, e.g. --cacert CA --resolve NAME:PORT:127.0.0.1]
  local url=$1 pid=$2 tries=$3
  shift 3
  for _ in $(seq 1 "$tries"); do
    if curl -fsS "$@" "$url" >/dev/null 2>&1; then return 0; fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}
