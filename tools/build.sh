#!/usr/bin/env bash
# Configures and builds heed (Release, Ninja, ccache when present) into build/.
# Usage: tools/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${HEED_JOBS:-$(nproc)}
cmake -G Ninja -B build -DCMAKE_BUILD_TYPE=Release "$@" > build.configure.log 2>&1 || {
  cat build.configure.log; exit 1; }
rm -f build.configure.log
ninja -C build -j "$jobs"
