#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Fault soak (issue 13): N post_message calls through smooch-bench against a smooch-mock program that mixes
# random faults into the answers (resets before and after applying, 503 with and without Retry-After, 429,
# truncated and malformed bodies with and without applying, connections closed after an answer, after every
# CLOSE_AFTER requests, and when idle for IDLE_MS: stale keep-alive). Then smooch-soak-check audits every
# outcome smooch-bench reported (--outcomes) against the mock's record (GET /_admin/record): nothing stored
# twice, every delivered message stored, every message not stored reported failed, every failure without
# outcome_unknown absent from the record (outcome_unknown ones are counted as stored or not). Meanwhile the
# client process's RSS is sampled from /proc every 100 ms: it must stay flat (growth after the first tenth of
# the run at most RSS_GROWTH_KB; "none" reports it without judging, for sanitizer builds).
#
#   bench/soak.sh [BUILD_DIR]                     (default build/release; N=10^6 takes a few minutes)
#   N=10000 SEED=7 C=64 K=16 USERS=100 bench/soak.sh build/dev
#   MOCK=path/smooch-mock BENCH=path/smooch-bench CHECK=path/smooch-soak-check N=10000 bench/soak.sh  (CTest)
#   FAULTS='reset,probability=0.01;malformed,apply,probability=0.01' bench/soak.sh   (';' between specs)
#
# Exit status 0 only when every check passes. The mock's seed (SEED) fixes which requests are faulted, in
# arrival order; the client's jitter and the interleaving of its 64 calls are not seeded.
set -euo pipefail
build=${1:-build/release}
N=${N:-1000000} SEED=${SEED:-1} C=${C:-64} K=${K:-16} USERS=${USERS:-100} TIMEOUT=${TIMEOUT:-30s}
CLOSE_AFTER=${CLOSE_AFTER:-200} IDLE_MS=${IDLE_MS:-5} RSS_GROWTH_KB=${RSS_GROWTH_KB:-16384}
# Per-request probabilities, all on post_message: about 1.5 % of the requests are faulted. A truncated or
# malformed answer to a request that was not applied has status 502 (a proxy's broken answer), so that, as from a
# real server, a 2xx status line always means the message was stored (the mock's default there would be 201).
default_faults="reset,probability=0.002;reset,apply,probability=0.002;status=503,retry_after=0,probability=0.002"
default_faults+=";status=503,probability=0.001;status=503,apply,probability=0.001;status=429,probability=0.0002"
default_faults+=";truncate,status=502,probability=0.001;truncate,apply,probability=0.001"
default_faults+=";malformed,status=502,probability=0.001;malformed,apply,probability=0.001;close,probability=0.002"
FAULTS=${FAULTS:-$default_faults}
mock=${MOCK:-$build/src/smooch-mock} bench=${BENCH:-$build/bench/smooch-bench}
check=${CHECK:-$build/bench/smooch-soak-check}
for b in "$mock" "$bench" "$check"; do
  [[ -x $b ]] || { echo "missing $b (cmake --build --preset release --target smooch-bench smooch-mock smooch-soak-check)"; exit 2; }
done
dir=$(mktemp -d)
pid= bpid=
cleanup() {
  [[ -n $bpid ]] && kill "$bpid" 2>/dev/null
  [[ -n $pid ]] && kill "$pid" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

fault_args=()
IFS=';' read -r -a specs <<<"$FAULTS"
for f in "${specs[@]}"; do
  [[ $f == *route=* ]] || f+=",route=post_message"
  fault_args+=(--fault "$f")
done
mkfifo "$dir/out"
"$mock" --self-signed --write-ca "$dir/ca.pem" --key-id soak_key --secret soak-secret --admin --max-recorded 0 \
  --seed "$SEED" --close-after-requests "$CLOSE_AFTER" --idle-timeout "$IDLE_MS" "${fault_args[@]}" >"$dir/out" &
pid=$!
exec 3<"$dir/out"
read -r -t 30 line <&3 || { echo "smooch-mock did not start"; exit 1; }
url=${line#listening on }
echo "soak: $N post_message calls, C=$C, K=$K, $USERS users, mock seed $SEED, close after $CLOSE_AFTER requests," \
     "idle timeout $IDLE_MS ms; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '  fault %s\n' "${specs[@]}"

t0=$(date +%s%N)
"$bench" --url "$url" --ca "$dir/ca.pem" --key-id soak_key --secret soak-secret --user-prefix soak- \
  --messages "$N" --users "$USERS" --concurrency "$C" --connections "$K" --timeout "$TIMEOUT" \
  --no-verify-delivery --outcomes "$dir/outcomes.jsonl" --json >"$dir/run.json" &
bpid=$!
# RSS of the client process over time: "ms_since_start rss_kb outcomes_bytes" (the outcomes file grows in
# 1 MiB blocks of about 11 000 calls each, so it tells roughly how many calls were done).
while read -r rss _ < <(awk '/^VmRSS:/ { print $2 }' "/proc/$bpid/status" 2>/dev/null) && [[ -n $rss ]]; do
  printf '%d %s %d\n' $((($(date +%s%N) - t0) / 1000000)) "$rss" "$(stat -c %s "$dir/outcomes.jsonl" 2>/dev/null || echo 0)" \
    >>"$dir/rss.txt"
  sleep 0.1
done
rc=0
wait "$bpid" || rc=$?
bpid=
((rc == 0 || rc == 1)) || { echo "smooch-bench failed (exit status $rc)"; cat "$dir/run.json"; exit 1; }
field() { grep -o "\"$1\":[0-9.]*" "$dir/run.json" | head -1 | cut -d: -f2; }  # the first, top-level one
printf 'client: %s delivered, %s failed (%s outcome unknown) in %s s, %s messages/s; %s retries, %s stale replays,' \
  "$(field delivered)" "$(field failed)" "$(field outcome_unknown)" "$(field seconds)" "$(field messages_per_s)" \
  "$(field retries)" "$(field stale_replays)"
printf ' %s connections opened, %s 429s\n' "$(field connections_opened)" "$(field responses_429)"

status=0
"$check" --url "$url" --ca "$dir/ca.pem" --outcomes "$dir/outcomes.jsonl" --messages "$N" --users "$USERS" \
  --user-prefix soak- || status=1

# RSS: at about 10^4, 10^5, 10^6 calls done (by the outcomes file's size), and flat after the first tenth.
peak=$(field peak_rss_kb)
bytes=$(stat -c %s "$dir/outcomes.jsonl")
awk -v n="$N" -v total="$bytes" -v peak="$peak" -v limit="$RSS_GROWTH_KB" '
  { t[NR] = $1; r[NR] = $2; b[NR] = $3 }
  END {
    if (NR == 0) { print "RSS: no sample (the run ended within 100 ms)"; exit 1 }
    split("10000 100000 1000000", marks, " ")
    line = "RSS of smooch-bench (VmRSS):"
    for (m = 1; m <= 3; m++) {
      if (marks[m] > n) continue
      for (i = 1; i <= NR; i++) if (b[i] >= marks[m] * total / n) break
      if (i > NR && marks[m] == n) i = NR  # the last block is written at exit, after the last sample
      if (i <= NR) line = line sprintf(" %d KB at %d calls (%.1f s);", r[i], marks[m], t[i] / 1000)
    }
    print line sprintf(" peak %d KB (ru_maxrss); %d samples over %.1f s", peak, NR, t[NR] / 1000)
    # Flat: after the first tenth of the run, the RSS grows by at most `limit` KB.
    for (i = 1; i <= NR && t[i] < t[NR] / 10; i++) ;
    if (i > NR) i = NR
    base = r[i]; top = base
    for (j = i; j <= NR; j++) if (r[j] > top) top = r[j]
    if (limit == "none") {
      printf "RSS growth after the first tenth (%.1f s, %d KB): %d KB (not judged: RSS_GROWTH_KB=none)\n",
             t[i] / 1000, base, top - base
      exit 0
    }
    printf "RSS growth after the first tenth (%.1f s, %d KB): %d KB (limit %d KB): %s\n", t[i] / 1000, base,
           top - base, limit, top - base <= limit ? "flat" : "NOT FLAT"
    exit top - base <= limit ? 0 : 1
  }' "$dir/rss.txt" || status=1
echo "soak: $( ((status == 0)) && echo PASS || echo FAIL)"
exit "$status"
