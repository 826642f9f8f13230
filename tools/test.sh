#!/usr/bin/env bash
# Installs what heed needs (Debian packages only), builds everything and runs every test:
# GoogleTest units, lit/FileCheck IR and CLI tests, gradient checks, end-to-end training,
# and a bounded libFuzzer run of the frontend. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
bash tools/build.sh

# Fuzz the frontend and the data readers for a bounded time each (clang + libFuzzer;
# a build of the fuzzers only).
if [ "${HEED_SKIP_FUZZ:-0}" != 1 ]; then
  cmake -G Ninja -B build-fuzz -DHEED_BUILD_FUZZER=ON \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 > /dev/null
  ninja -C build-fuzz heed_frontend_fuzzer heed_data_fuzzer
  bash tests/fuzz/run-fuzz.sh build-fuzz "${HEED_FUZZ_SECONDS:-60}"
fi
# Spinning OpenMP threads collapse on a busy 2-core machine: tests use the passive policy.
export OMP_WAIT_POLICY=passive
ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 900

echo "heed: all tests passed"
