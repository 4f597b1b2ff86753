# Shared by the benchmark scripts that run nginx beside sealgate (attested-tls.sh, chat-path.sh). Source it.

# A free TCP port on loopback.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }

# PID: user+system clock ticks of the process and its children (nginx: master and worker), from /proc.
cpu_ticks() {
  local total=0 p f
  for p in "$1" $(pgrep -P "$1" || true); do
    read -r -a f <"/proc/$p/stat" || continue
    total=$((total + f[13] + f[14]))
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
