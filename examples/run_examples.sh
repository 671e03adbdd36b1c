#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Starts the smooch-mock program over TLS on a port the OS picks, runs each example against it, stops it.
# Usage: run_examples.sh SMOOCH_MOCK EXAMPLE...
set -euo pipefail
mock=$1; shift
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
mkfifo "$dir/out"
"$mock" --self-signed --write-ca "$dir/ca.pem" --key-id act_examples --secret example-secret >"$dir/out" &
pid=$!
exec 3<"$dir/out"
read -r -t 30 line <&3 || { echo "smooch-mock did not start"; exit 1; }
url=${line#listening on }
[[ $url == https://* ]] || { echo "unexpected first line: $line"; exit 1; }
export SMOOCH_URL=$url SMOOCH_CA=$dir/ca.pem SMOOCH_KEY_ID=act_examples SMOOCH_SECRET=example-secret
for e in "$@"; do
  echo "== $(basename "$e")"
  timeout 60 "$e"
done
echo "all $# examples passed"
