#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Two smooch-dispatch binaries (A, B) and smooch-bench against one smooch-mock program, alternating in each round:
# messages/s, CPU per line (process, and the journal's thread alone), and each one's ratio to smooch-bench.
# For before/after comparisons of a change on a noisy machine: only figures from one invocation compare.
#
#   bench/dispatch_ab.sh DISPATCH_A DISPATCH_B [BUILD_DIR]     (ROUNDS=4 N=100000; BUILD_DIR gives mock and bench)
set -euo pipefail
A=${1:?usage: dispatch_ab.sh DISPATCH_A DISPATCH_B [BUILD_DIR]} B=${2:?usage: dispatch_ab.sh DISPATCH_A DISPATCH_B}
build=${3:-build/release} ROUNDS=${ROUNDS:-4} N=${N:-100000}
mock=$build/src/smooch-mock bench=$build/bench/smooch-bench
for b in "$mock" "$bench" "$A" "$B"; do [[ -x $b ]] || { echo "missing $b"; exit 2; }; done
dir=$(mktemp -d) pid=
trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
source "$(dirname "$0")/dispatch_lib.sh"
dispatch_campaign "$dir/c.jsonl" "$N" 100
start_mock
common=(--url "$url" --ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --concurrency 64
        --connections 16)
run_dispatch() {  # prints: msg/s, CPU us per line, journal CPU us per line
  rm -f "$dir"/j.db*
  local o; o=$("$1" run "$dir/c.jsonl" --journal "$dir/j.db" "${common[@]}" --app app_bench --json)
  awk -v r="$(field posts_per_s <<<"$o")" -v c="$(field cpu_ms <<<"$o")" -v j="$(field journal_cpu_ms <<<"$o")" \
      -v n="$N" 'BEGIN { printf "%.0f %.1f %.1f", r, c * 1000 / n, j * 1000 / n }'
}
run_bench() {
  local o; o=$("$bench" "${common[@]}" --messages "$N" --users 100 --json --no-verify-delivery)
  printf '%.0f %.1f' "$(field messages_per_s <<<"$o")" "$(field process_cpu_us_per_message <<<"$o")"
}
echo "$N lines, 100 users, C=64, K=16; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s | %24s | %24s | %14s | %s\n' round "A msg/s us/line journal" "B msg/s us/line journal" "bench msg/s us" "A/bench B/bench"
for r in $(seq "$ROUNDS"); do
  # The mock's store grows every run: the order alternates so that neither side always meets the larger one.
  if ((r % 2)); then a=$(run_dispatch "$A"); b=$(run_dispatch "$B"); c=$(run_bench)
  else c=$(run_bench); b=$(run_dispatch "$B"); a=$(run_dispatch "$A"); fi
  read -r ar au aj <<<"$a"; read -r br bu bj <<<"$b"; read -r cr cu <<<"$c"
  printf '%-5s | %8s %7s %7s | %8s %7s %7s | %7s %6s | %.3f %.3f\n' "$r" "$ar" "$au" "$aj" "$br" "$bu" "$bj" "$cr" "$cu" \
    "$(awk -v a="$ar" -v c="$cr" 'BEGIN { print a / c }')" "$(awk -v b="$br" -v c="$cr" 'BEGIN { print b / c }')"
done
