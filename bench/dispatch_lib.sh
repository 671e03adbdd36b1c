# SPDX-License-Identifier: BSL-1.0
# Sourced by the smooch-dispatch benchmarks (dispatch_throughput.sh, dispatch_ab.sh, dispatch_cpu.sh): the
# campaign they share with smooch-bench's bodies, the mock they all start, and reading a JSON summary.
# Needs $dir (a scratch directory) and $mock (the smooch-mock program); start_mock sets $pid and $url.

# dispatch_campaign FILE LINES USERS: line i goes to user d-(i-1 mod USERS), text "seq i", metadata {"seq": i},
# like smooch-bench's message i.
dispatch_campaign() {
  awk -v n="$2" -v u="$3" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"user\":\"d-%d\",\"message\":{\"role\":\"appMaker\",\"type\":\"text\",\"text\":\"seq %d\",\"metadata\":{\"seq\":%d}}}\n", (i-1)%u, i, i }' >"$1"
}

# start_mock [MOCK_ARGS...]: the smooch-mock program over TLS with the benchmarks' key; waits for its
# "listening on" line (30 s at most).
start_mock() {
  rm -f "$dir/out"
  mkfifo "$dir/out"
  "$mock" --self-signed --write-ca "$dir/ca.pem" --key-id bench_key --secret bench-secret "$@" >"$dir/out" &
  pid=$!
  exec 3<"$dir/out"
  local line
  read -r -t 30 line <&3 || { echo "smooch-mock did not start"; exit 1; }
  url=${line#listening on }
}

# field NAME: the first number named NAME in the JSON on stdin (smooch-bench's has a peer's too), or nothing.
field() { { grep -o "\"$1\":[0-9.eE+-]*" || true; } | head -1 | cut -d: -f2; }
