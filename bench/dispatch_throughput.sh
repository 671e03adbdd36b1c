#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# smooch-dispatch against smooch-bench: the same smooch-mock program (started once, TLS, one key), the same
# concurrency and connections, alternating in one run; prints each pair's messages/s and their ratio.
# Then (unless MEMORY=0) the peak RSS of smooch-dispatch for a 10^5-line and a 10^6-line campaign.
#
#   bench/dispatch_throughput.sh [BUILD_DIR]        (default build/release)
#   N=200000 ROUNDS=3 C=64 K=16 USERS=100 DELAY_MS=0 MEMORY=1 bench/dispatch_throughput.sh
#
# DELAY_MS > 0 holds every post's answer that long in the mock (a server farther away than loopback).
# smooch-dispatch's rate counts its whole run (digest pass, journal open, every commit, fully durable:
# --synchronous full); smooch-bench's counts its send phase.
set -euo pipefail
build=${1:-build/release}
N=${N:-200000} ROUNDS=${ROUNDS:-3} C=${C:-64} K=${K:-16} USERS=${USERS:-100} DELAY_MS=${DELAY_MS:-0}
MEMORY=${MEMORY:-1}
mock=$build/src/smooch-mock bench=$build/bench/smooch-bench dispatch=$build/src/smooch-dispatch
for b in "$mock" "$bench" "$dispatch"; do [[ -x $b ]] || { echo "missing $b (cmake --preset release && cmake --build --preset release)"; exit 2; }; done
dir=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

campaign() {  # campaign FILE LINES: line i goes to user (i mod USERS), like smooch-bench's message seq
  awk -v n="$2" -v u="$USERS" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"user\":\"d-%d\",\"message\":{\"role\":\"appMaker\",\"type\":\"text\",\"text\":\"seq %d\",\"metadata\":{\"seq\":%d}}}\n", (i-1)%u, i, i }' >"$1"
}
start_mock() {
  local fault=()
  ((DELAY_MS > 0)) && fault=(--fault "delay=$DELAY_MS,route=post_message")
  mkfifo "$dir/out"
  "$mock" --self-signed --write-ca "$dir/ca.pem" --key-id bench_key --secret bench-secret "${fault[@]}" >"$dir/out" &
  pid=$!
  exec 3<"$dir/out"
  read -r -t 30 line <&3 || { echo "smooch-mock did not start"; exit 1; }
  url=${line#listening on }
}
field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }

campaign "$dir/c.jsonl" "$N"
start_mock
common=(--url "$url" --ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --concurrency "$C" --connections "$K")
echo "server: smooch-mock program at $url (delay ${DELAY_MS} ms); $N messages to $USERS users, C=$C, K=$K; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %14s %14s %8s\n' round "bench msg/s" "dispatch msg/s" ratio
ratios=()
for r in $(seq "$ROUNDS"); do
  b=$("$bench" "${common[@]}" --messages "$N" --users "$USERS" --json --no-verify-delivery | field messages_per_s)
  rm -f "$dir"/j.db*
  d=$("$dispatch" run "$dir/c.jsonl" --journal "$dir/j.db" "${common[@]}" --app app_bench --json | field posts_per_s)
  ratio=$(awk -v a="$d" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf '%-6s %14.0f %14.0f %8s\n' "$r" "$b" "$d" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "ratio dispatch/bench: min %s median %s max %s\n", a[1], a[int((NR + 1) / 2)], a[NR] }'

if ((MEMORY)); then
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; rm -f "$dir/out"
  echo "peak RSS of smooch-dispatch (the mock in its own process):"
  for n in 100000 1000000; do
    start_mock
    campaign "$dir/m.jsonl" "$n"
    rm -f "$dir"/m.db*
    out=$("$dispatch" run "$dir/m.jsonl" --journal "$dir/m.db" --url "$url" --ca "$dir/ca.pem" --key-id bench_key \
          --secret bench-secret --concurrency "$C" --connections "$K" --app app_bench --json)
    printf '  %8d lines: %6d KB, %6.0f lines/s, journal %s\n' "$n" "$(field peak_rss_kb <<<"$out")" \
           "$(field posts_per_s <<<"$out")" "$(du -h "$dir/m.db" | cut -f1)"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; rm -f "$dir/out"
  done
fi
