# Shared by the benchmark scripts that run nginx beside sealgate (attested-tls.sh, chat-path.sh). Source it.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# PID: user+system clock ticks of the process and all its live descendants (nginx: master and worker; a Python
# proxy: the server and any worker processes), from /proc. The fields are read after the command name's closing
# parenthesis, so a name with spaces does not shift them.
cpu_ticks() {
  local total=0 p s f
  local todo=("$1")
  while [ "${#todo[@]}" -gt 0 ]; do
    p=${todo[0]}
    todo=("${todo[@]:1}")
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    read -r -a f <<<"${s##*) }"
    total=$((total + f[11] + f[12]))
    # shellcheck disable=SC2207
    todo+=($(pgrep -P "$p" || true))
  done
  echo "$total"
}

# DIR: the top of an nginx.conf with one worker, no daemon, no access log, every path under DIR/nginx; the caller
# appends its server blocks and closes the http block.
nginx_preamble() {
  mkdir -p "$1/nginx"
  cat <<EOC
worker_processes 1;
daemon off;
pid $1/nginx/nginx.pid;
error_log $1/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $1/nginx; proxy_temp_path $1/nginx; fastcgi_temp_path $1/nginx;
  uwsgi_temp_path $1/nginx; scgi_temp_path $1/nginx;
EOC
}
