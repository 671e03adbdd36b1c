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
# --synchronous full); smooch-bench's counts its send phase. CPU per message: smooch-bench's process (its one
# thread), smooch-dispatch's process (the run's thread and the journal's) and the journal's thread alone.
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

source "$(dirname "$0")/dispatch_lib.sh"
fault=()
((DELAY_MS > 0)) && fault=(--fault "delay=$DELAY_MS,route=post_message")

dispatch_campaign "$dir/c.jsonl" "$N" "$USERS"
start_mock "${fault[@]}"
common=(--url "$url" --ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --concurrency "$C" --connections "$K")
echo "server: smooch-mock program at $url (delay ${DELAY_MS} ms); $N messages to $USERS users, C=$C, K=$K; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %12s %7s %12s %14s %14s\n' round "bench msg/s" "disp. msg/s" ratio "bench us/msg" "disp. us/line" "journal us/line"
ratios=()
for r in $(seq "$ROUNDS"); do
  # The mock's store grows with every round: who goes first alternates, so neither always meets the larger one.
  run_bench() { bj=$("$bench" "${common[@]}" --messages "$N" --users "$USERS" --json --no-verify-delivery); }
  run_dispatch() {
    rm -f "$dir"/j.db*
    dj=$("$dispatch" run "$dir/c.jsonl" --journal "$dir/j.db" "${common[@]}" --app app_bench --json)
  }
  if ((r % 2)); then run_bench; run_dispatch; else run_dispatch; run_bench; fi
  b=$(field messages_per_s <<<"$bj") d=$(field posts_per_s <<<"$dj")
  bcpu=$(field process_cpu_us_per_message <<<"$bj")
  dcpu=$(awk -v c="$(field cpu_ms <<<"$dj")" -v n="$N" 'BEGIN { printf "%.1f", c * 1000 / n }')
  jcpu=$(awk -v c="$(field journal_cpu_ms <<<"$dj")" -v n="$N" 'BEGIN { printf "%.1f", c * 1000 / n }')
  ratio=$(awk -v a="$d" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio")
  printf '%-6s %12.0f %12.0f %7s %12.1f %14s %14s\n' "$r" "$b" "$d" "$ratio" "$bcpu" "$dcpu" "$jcpu"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "ratio dispatch/bench: min %s median %s max %s\n", a[1], a[int((NR + 1) / 2)], a[NR] }'

if ((MEMORY)); then
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; rm -f "$dir/out"
  echo "peak RSS of smooch-dispatch (the mock in its own process):"
  for n in 100000 1000000; do
    start_mock "${fault[@]}"
    dispatch_campaign "$dir/m.jsonl" "$n" "$USERS"
    rm -f "$dir"/m.db*
    out=$("$dispatch" run "$dir/m.jsonl" --journal "$dir/m.db" --url "$url" --ca "$dir/ca.pem" --key-id bench_key \
          --secret bench-secret --concurrency "$C" --connections "$K" --app app_bench --json)
    printf '  %8d lines: %6d KB, %6.0f lines/s, journal %s\n' "$n" "$(field peak_rss_kb <<<"$out")" \
           "$(field posts_per_s <<<"$out")" "$(du -h "$dir/m.db" | cut -f1)"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; rm -f "$dir/out"
  done
fi
