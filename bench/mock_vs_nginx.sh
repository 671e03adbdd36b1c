#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# smooch-mock vs nginx: requests/s over TLS on loopback, both on one thread / one worker, wrk as the load.
#
# nginx answers every request with a fixed 201 JSON body (the upper bound for "a server that does nothing").
# smooch-mock does the real work: HTTP parsing, Basic auth, JSON parsing and validation, storing the message
# and serializing the 201 post_message response. The target is mock/nginx >= 0.7.
#
# usage: bench/mock_vs_nginx.sh [SMOOCH_MOCK_BINARY] [DURATION_S] [CONNECTIONS] [ROUNDS]
#   SMOOCH_MOCK_BINARY  default: build/h-mock-rel/src/smooch-mock (build it Release: -DCMAKE_BUILD_TYPE=Release)
#   DURATION_S          per wrk run, default 10
#   CONNECTIONS         default 50
#   ROUNDS              default 3: nginx and smooch-mock runs alternate, and the medians are compared, so
#                       load from other processes on a shared machine hits both sides alike
# Needs: nginx (Debian nginx-light is enough), wrk, curl, python3, openssl, taskset (util-linux). The script
# installs the missing ones first with .ci/install-deps.sh (Debian 12, as root; apt runs only if something is
# missing), so a fresh machine needs nothing beyond a Release build of smooch-mock.
# With 2+ CPUs the server is pinned to CPU 0 and wrk to CPU 1, so the two never share a core.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

# nginx and wrk are needed only here, so only this script installs them (with the base set if missing).
bash "$root/.ci/install-deps.sh" nginx-light wrk curl python3
mock_bin=${1:-$root/build/h-mock-rel/src/smooch-mock}
duration=${2:-10}
conns=${3:-50}
rounds=${4:-3}
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

for tool in wrk openssl "$nginx_bin" "$mock_bin"; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || { echo "missing: $tool" >&2; exit 2; }
done

tmp=$(mktemp -d)
mock_pid=""; nginx_pid=""
cleanup() {
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if [ "$(nproc)" -ge 2 ]; then server_cpu="taskset -c 0"; load_cpu="taskset -c 1"; else server_cpu=""; load_cpu=""; fi

# Same kind of certificate for both: EC P-256.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null

body='{"message":{"_id":"55c8c1498590aa1900b9b9b1","authorId":"c7f6e6d6c3a637261bd9656f","role":"appMaker","type":"text","received":1439220041.586,"text":"Hello!"},"conversation":{"_id":"df0ebe56cbeab98589b8bfa7","unreadCount":1}}'

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port)
mkdir -p "$tmp/nginx"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $tmp/cert.pem;
    ssl_certificate_key $tmp/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      default_type application/json;
      return 201 '$body';
    }
  }
}
EOF

cat >"$tmp/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"role":"appMaker","type":"text","text":"Hello!"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic YmVuY2g6c2VjcmV0"  -- bench:secret
EOF

path=/v1.1/apps/bench_app/appusers/bench_user/messages

run_wrk() {  # url -> prints requests/s
  $load_cpu wrk -t1 -c"$conns" -d"${duration}s" -s "$tmp/post.lua" "$1" >"$tmp/wrk.out" 2>&1
  cat "$tmp/wrk.out" >&2
  awk '/Requests\/sec/ {print $2}' "$tmp/wrk.out"
}

# Both servers run for the whole benchmark (each idle while the other is measured).
$server_cpu "$nginx_bin" -c "$tmp/nginx.conf" -p "$tmp/nginx" &
nginx_pid=$!
$server_cpu "$mock_bin" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" --key-id bench --secret secret \
  --max-recorded 0 >"$tmp/mock.out" &
mock_pid=$!
for _ in $(seq 1 100); do curl -sk -o /dev/null "https://127.0.0.1:$nginx_port/" && break; sleep 0.05; done
for _ in $(seq 1 100); do grep -q "listening on" "$tmp/mock.out" 2>/dev/null && break; sleep 0.05; done
mock_url=$(sed -n 's/^listening on //p' "$tmp/mock.out")
status=$(curl -sk -o /dev/null -w '%{http_code}' -u bench:secret -H 'Content-Type: application/json' \
  -d '{"role":"appMaker","type":"text","text":"check"}' "$mock_url$path")
[ "$status" = 201 ] || { echo "smooch-mock answered $status, not 201: benchmark invalid" >&2; exit 1; }

nginx_all=(); mock_all=()
for r in $(seq 1 "$rounds"); do
  echo "== round $r: nginx (1 worker, fixed 201 body) on :$nginx_port" >&2
  nginx_all+=("$(run_wrk "https://127.0.0.1:$nginx_port$path")")
  echo "== round $r: smooch-mock (1 thread, post_message) at $mock_url" >&2
  mock_all+=("$(run_wrk "$mock_url$path")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
nginx_rps=$(median "${nginx_all[@]}")
mock_rps=$(median "${mock_all[@]}")
ratio=$(awk -v m="$mock_rps" -v n="$nginx_rps" 'BEGIN { printf "%.2f", m / n }')
echo "nginx_rps: ${nginx_all[*]}"
echo "mock_rps:  ${mock_all[*]}"
echo "median nginx_rps=$nginx_rps mock_rps=$mock_rps ratio=$ratio (target >= 0.70; ${rounds} rounds of ${duration}s, ${conns} connections)"
