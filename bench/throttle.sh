#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Throttled throughput (issue 13, item 5): a closed-loop fan-out of post_message through smooch-bench against
# smooch-mock's per-app token bucket, whose 429s carry no Retry-After (as Smooch's). For each server rate R
# (with its burst) it runs the same load twice: without a client-side limit (the client rides out the 429s
# with its per-app gate) and with rate_limit_params at R (--client-rate R: no 429 at all is the goal).
# Prints delivered rate / R, the 429s (as the client counted them and as the server did), errors, p99.
#
#   bench/throttle.sh [BUILD_DIR]            (default build/release)
#   RATES="50:5 1000:100" SECONDS_PER_RUN=20 C=64 K=16 USERS=100 CLIENT_BURST=1 TIMEOUT=30s bench/throttle.sh
#
# Each run sends SECONDS_PER_RUN × R messages (so it lasts about SECONDS_PER_RUN when the rate holds) and is
# bounded by 3 × SECONDS_PER_RUN (--duration: nothing starts after it). The mock is restarted for every run
# (full bucket, empty record). The bucket starts full, so B messages come free: the ideal ratio is
# (N + B) / N ≈ 1.005 for the defaults, not 1. The verification read-back is skipped (it would be throttled
# too); instead the mock's record must hold exactly as many messages as were delivered (no duplicate, no loss,
# no unknown outcome in these runs).
#
# PEER_BENCH=path/to/another/smooch-bench adds, after each run without a client-side limit, the same run with
# that binary (e.g. one built from an older commit, to see what a change to the gate did) against the same mock
# build: column `client` says `peer`. ROUNDS=n repeats the whole table n times (alternation spreads the load of a
# shared machine over both). KEEP=DIR keeps each run's smooch-bench JSON and the mock's record, with every
# request's arrival time and status (--max-recorded 1000000), as DIR/<round>-<R>-<client>.{run,record}.json, for
# bench/throttle_timeline.py (what the server saw after each reopening of the gate).
set -euo pipefail
build=${1:-build/release}
RATES=${RATES:-"50:5 1000:100"} SECONDS_PER_RUN=${SECONDS_PER_RUN:-20} C=${C:-64} K=${K:-16} USERS=${USERS:-100}
CLIENT_BURST=${CLIENT_BURST:-1} TIMEOUT=${TIMEOUT:-30s} PEER_BENCH=${PEER_BENCH:-} ROUNDS=${ROUNDS:-1}
KEEP=${KEEP:-}
recorded=0
[[ -n $KEEP ]] && { mkdir -p "$KEEP"; recorded=1000000; }
mock=$build/src/smooch-mock bench=$build/bench/smooch-bench
for b in "$mock" "$bench"; do
  [[ -x $b ]] || { echo "missing $b (cmake --preset release && cmake --build --preset release --target smooch-bench smooch-mock)"; exit 2; }
done
command -v curl >/dev/null && command -v python3 >/dev/null || { echo "needs curl and python3"; exit 2; }
dir=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

start_mock() {  # start_mock RPS BURST
  rm -f "$dir/out"
  mkfifo "$dir/out"
  "$mock" --self-signed --write-ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --admin \
    --max-recorded "$recorded" --rate-limit "$1" --burst "$2" >"$dir/out" &
  pid=$!
  exec 3<"$dir/out"
  read -r -t 30 line <&3 || { echo "smooch-mock did not start"; exit 1; }
  url=${line#listening on }
}
stop_mock() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; exec 3<&-; }

echo "server: smooch-mock, per-app token bucket, 429 without Retry-After; closed loop, C=$C, K=$K, $USERS users;" \
     "client burst $CLIENT_BURST when limited; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %-7s %7s %7s %9s %7s %9s %9s %7s %8s %s\n' R burst client sent deliv msg/s ratio \
       "429 cli" "429 srv" stored "p99 ms" errors
bad=0
for round in $(seq "$ROUNDS"); do
for rb in $RATES; do
  r=${rb%%:*} b=${rb##*:}
  n=$(awk -v r="$r" -v s="$SECONDS_PER_RUN" 'BEGIN { printf "%d", r * s }')
  clients=(none)
  [[ -n $PEER_BENCH ]] && clients+=(peer)
  clients+=("$r")
  for client in "${clients[@]}"; do
    start_mock "$r" "$b"
    limit=() prog=$bench
    [[ $client == peer ]] && prog=$PEER_BENCH
    [[ $client != none && $client != peer ]] && limit=(--client-rate "$client" --client-burst "$CLIENT_BURST")
    rc=0
    "$prog" --url "$url" --ca "$dir/ca.pem" --key-id bench_key --secret bench-secret --messages "$n" \
      --duration "$((3 * SECONDS_PER_RUN))s" --timeout "$TIMEOUT" --users "$USERS" --concurrency "$C" \
      --connections "$K" --no-verify-delivery --json "${limit[@]}" >"$dir/run.json" || rc=$?
    curl -sf --cacert "$dir/ca.pem" "$url/_admin/record" >"$dir/record.json"
    stop_mock
    [[ -n $KEEP ]] && cp "$dir/run.json" "$KEEP/$round-$r-$client.run.json" && cp "$dir/record.json" "$KEEP/$round-$r-$client.record.json"
    python3 - "$dir/run.json" "$dir/record.json" "$r" "$b" "$client" "$rc" <<'EOF' || bad=1
import json, sys
run = json.load(open(sys.argv[1])); rec = json.load(open(sys.argv[2]))
r, b, client, rc = float(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
stored = sum(len(c["message_ids"]) for c in rec["conversations"])
errors = ",".join(f"{k}={v}" for k, v in sorted(run["errors"].items())) or "0"
p99 = run["latency_ms"]["p99"] if run["latency_ms"] else None
print(f'{r:<6.0f} {b:<5} {client:<7} {run["sent"]:>7} {run["delivered"]:>7} {run["messages_per_s"]:>9.1f} '
      f'{run["messages_per_s"] / r:>7.3f} {run.get("responses_429", "-"):>9} {rec["rate_limited"]:>9} {stored:>7} '
      f'{p99 if p99 is not None else "-":>8} {errors}')
ok = rc in (0, 1) and stored == run["delivered"] and run["outcome_unknown"] == 0
if client not in ("none", "peer") and rec["rate_limited"] != 0:
    print(f'  with the client-side limit the server still sent {rec["rate_limited"]} 429s')
if not ok:
    print(f'  INVALID RUN: exit status {rc}, {stored} stored vs {run["delivered"]} delivered, '
          f'{run["outcome_unknown"]} unknown outcomes')
    sys.exit(1)
EOF
  done
done
done
exit "$bad"
