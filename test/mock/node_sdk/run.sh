#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Runs the official Node SDK (npm smooch-core 8.11.4) against smooch-mock: check.js, every operation with app,
# appUser and account scope. Needs node and npm (Debian: nodejs, npm) and the npm registry; not part of CI.
# Usage: test/mock/node_sdk/run.sh [path/to/smooch-mock]   (default: build/dev/src/smooch-mock)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mock=${1:-$here/../../../build/dev/src/smooch-mock}
work=$(mktemp -d /tmp/smooch-node-sdk-XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && npm install --no-audit --no-fund --silent smooch-core@8.11.4 >/dev/null)
cp "$here/check.js" "$work/"
"$mock" --key-id app_key --secret app_secret --key-app app_1 --key-id act_key --secret act_secret \
        --write-ca "$work/ca.pem" > "$work/listening" &
pid=$!
for _ in $(seq 100); do grep -q listening "$work/listening" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/listening")
cd "$work" && SMOOCH_URL=$url NODE_EXTRA_CA_CERTS=$work/ca.pem node check.js
