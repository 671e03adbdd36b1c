#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Where the CPU goes when smooch-dispatch and smooch-bench share the machine with smooch-mock: for each run, the
# client's CPU per message (user + system, from /proc/PID/stat at exit) and the mock's CPU per post (its
# /proc/PID/stat before and after). Three runs per round, against one mock:
#   bench        smooch-bench closed loop (as fast as it goes; the mock is the busier side)
#   dispatch     smooch-dispatch, journal fully durable
#   bench@rate   smooch-bench open loop at the rate dispatch just reached: the mock under the same load as in
#                dispatch's run, so its CPU per post there shows what load alone does to it.
#   bench+hog    smooch-bench closed loop with a third process beside it that burns HOG_MS of CPU, then sleeps
#                HOG_SLEEP_MS, over and over (default 2 and 10: about the duty of smooch-dispatch's journal thread).
#
#   bench/dispatch_cpu.sh [BUILD_DIR]          (ROUNDS=3 N=100000 C=64 K=16 HOG_MS=2 HOG_SLEEP_MS=10)
set -euo pipefail
build=${1:-build/release} ROUNDS=${ROUNDS:-3} N=${N:-100000} C=${C:-64} K=${K:-16}
HOG_MS=${HOG_MS:-2} HOG_SLEEP_MS=${HOG_SLEEP_MS:-10}
mock=$build/src/smooch-mock bench=$build/bench/smooch-bench dispatch=$build/src/smooch-dispatch
for b in "$mock" "$bench" "$dispatch"; do [[ -x $b ]] || { echo "missing $b"; exit 2; }; done
dir=$(mktemp -d) pid= hog=
trap '[[ -n $hog ]] && kill "$hog" 2>/dev/null; [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true
      rm -rf "$dir"' EXIT
burn() {  # busy for HOG_MS, asleep for HOG_SLEEP_MS, until killed
  local end fd sleep_s; sleep_s=$(awk -v m="$HOG_SLEEP_MS" 'BEGIN { printf "%.3f", m / 1000 }')
  exec {fd}<> <(:)  # a pipe nobody writes: read -t on it sleeps without forking a sleep(1)
  while :; do
    end=$(( ${EPOCHREALTIME/./} + HOG_MS * 1000 ))
    while (( ${EPOCHREALTIME/./} < end )); do :; done
    read -r -t "$sleep_s" -u "$fd" || true
  done
}
source "$(dirname "$0")/dispatch_lib.sh"
dispatch_campaign "$dir/c.jsonl" "$N" 100
start_mock
common=(--url "$url" --ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --concurrency "$C"
        --connections "$K")
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime of a live process
# measure NAME CMD...: runs CMD, prints NAME, its rate, its CPU per message (bash's `times`:
# the subshell's children, user + system) and the mock's.
measure() {
  local name=$1; shift
  local m0 m1 out
  m0=$(cpu_ticks "$pid")
  out=$( "$@"; times )  # times' second line: the children's user and system time
  m1=$(cpu_ticks "$pid")
  local rate; rate=$(field messages_per_s <<<"$out"); [[ -n $rate ]] || rate=$(field posts_per_s <<<"$out")
  local t; t="TIME $(tail -1 <<<"$out")"
  awk -v nm="$name" -v r="$rate" -v t="$t" -v m=$((m1 - m0)) -v tck="$tck" -v n="$N" 'BEGIN {
    split(t, a, " "); for (i = 2; i <= 3; i++) { split(a[i], ms, /[ms]/); a[i] = ms[1] * 60 + ms[2] }
    printf "  %-11s %9.0f msg/s  client %6.1f us/msg  mock %6.1f us/post\n", nm, r,
      (a[2] + a[3]) * 1e6 / n, m * 1e6 / tck / n }'
  last_rate=$(awk -v r="$rate" 'BEGIN { printf "%.0f", r }')
}
echo "$N messages to 100 users, C=$C, K=$K; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  echo "round $r"
  measure bench "$bench" "${common[@]}" --messages "$N" --users 100 --json --no-verify-delivery
  rm -f "$dir"/j.db*
  measure dispatch "$dispatch" run "$dir/c.jsonl" --journal "$dir/j.db" "${common[@]}" --app app_bench --json
  measure bench@rate "$bench" "${common[@]}" --messages "$N" --users 100 --json --no-verify-delivery \
    --rate "$last_rate"
  burn & hog=$!
  h0=$(cpu_ticks "$hog") t0=${EPOCHREALTIME/./}
  measure bench+hog "$bench" "${common[@]}" --messages "$N" --users 100 --json --no-verify-delivery
  h1=$(cpu_ticks "$hog") t1=${EPOCHREALTIME/./}
  kill "$hog"; wait "$hog" 2>/dev/null || true; hog=
  awk -v h=$((h1 - h0)) -v t=$((t1 - t0)) -v tck="$tck" 'BEGIN { printf "  (the hog used %.0f %% of a core)\n", h / tck * 1e8 / t }'
done
