#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The long crash-injection run (CI runs a short one): smooch-dispatch killed with SIGKILL at seeded random moments,
# at least 20 times over a campaign of 10^4 messages to 100 users, against an in-process smooch-mock that resets
# connections after and before applying posts and answers 503 and 429; rerun on the same journal after each kill.
# At the end the mock's record must hold every line's message exactly once and the journal must agree line by line.
#
#   bench/dispatch_crash.sh [BUILD_DIR] [SEED...]     (default build/dev, seeds 1 2 3)
#   LINES=10000 USERS=100 KILLS=25 RATE=2000 bench/dispatch_crash.sh build/dev 7
#
# A failing seed replays with the same arguments (the kill moments and the mock's faults derive from it).
set -euo pipefail
build=${1:-build/dev}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
test=$build/test/dispatch/test_dispatch_crash
[[ -x $test ]] || { echo "missing $test (cmake --preset dev && cmake --build --preset dev)"; exit 2; }
LINES=${LINES:-10000} USERS=${USERS:-100} KILLS=${KILLS:-25} RATE=${RATE:-2000}
failed=0
for s in "${seeds[@]}"; do
  start=$(date +%s.%N)
  if "$test" --report_level=short -- --lines "$LINES" --users "$USERS" --kills "$KILLS" --seed "$s" --rate "$RATE" \
       >"/tmp/dispatch_crash.$s.log" 2>&1; then verdict=passed; else verdict=FAILED; failed=1; fi
  secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  log=/tmp/dispatch_crash.$s.log
  # "recovery: L lines of U users settled in MS ms with R reads" (a run that completed) and
  # "recovery (run later killed, L lines of U users): settled L lines ..., in MS ms with R reads"
  stats=$( { sed -n 's/^recovery: \([0-9]*\) lines of \([0-9]*\) users settled in \([0-9]*\) ms with \([0-9]*\) reads/\3 \1 \2 \4/p' "$log"
             sed -n 's/^recovery (run later killed, \([0-9]*\) lines of \([0-9]*\) users): .* in \([0-9]*\) ms with \([0-9]*\) reads/\3 \1 \2 \4/p' "$log"; } | sort -n)
  echo "seed $s: $verdict in $secs s; $(grep '^crash injection: [0-9]* kills' "$log" | sed 's/^crash injection: //')"
  if [[ -n $stats ]]; then
    awk '{ n++; ms += $1; if ($4 > $3) over++; reads += $4; users += $3 }
         END { printf "  %d recoveries: settling took %.0f ms on average (settle delay 100 ms included), %d reads for %d affected users in all, %d over one read per user\n", n, ms / n, reads, users, over }' <<<"$stats"
    read -r ms l u r <<<"$(tail -1 <<<"$stats")"
    echo "  slowest: $l lines of $u users in $ms ms with $r reads"
  fi
  [[ $verdict == passed ]] || { tail -30 "/tmp/dispatch_crash.$s.log"; }
done
exit $failed
