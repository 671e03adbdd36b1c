#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs the Debian 12 packages smooch-cpp needs. Idempotent: apt-get runs only when something is missing.
# Usage: bash .ci/install-deps.sh [extra-package...]
set -euo pipefail
packages=(g++ clang-14 cmake ninja-build pkg-config ca-certificates openssl libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev
          libcurl4-openssl-dev libsqlite3-dev sqlite3 redis-server "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present"
fi
