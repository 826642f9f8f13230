#!/usr/bin/env bash
# Installs what heed needs (Debian packages only), builds everything and runs every test:
# GoogleTest units, lit/FileCheck IR and CLI tests, gradient checks, end-to-end training,
# bounded libFuzzer runs of the frontend and the data readers, and the unit tests of the
# MLIR-free code under AddressSanitizer + UBSan (docs/TESTING.md). Exits non-zero on any
# failure.
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

# AddressSanitizer + UBSan: the unit tests of the MLIR-free code (runtime, native kernels,
# compiled-artifact executor, lexer and parser), which reads checkpoints, data and model
# text. Not the MLIR-heavy compiler or the heed binary: built instrumented they take
# about 5.6x the CPU of a Release build, more than CI's time allows (docs/TESTING.md).
if [ "${HEED_SKIP_ASAN:-0}" != 1 ]; then
  cmake -G Ninja -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEED_SANITIZE=ON > /dev/null
  asan_tests=(tests/unit/runtime/heed_runtime_tests tests/unit/frontend/heed_frontend_tests
              tests/unit/native/heed_native_tests tests/unit/artifact/heed_artifact_tests)
  ninja -C build-asan "${asan_tests[@]##*/}"
  ( source tests/sanitizers/options.sh
    export HEED_POISON_BUFFERS=1  # as the artifact tests run under ctest
    for t in "${asan_tests[@]}"; do "build-asan/$t" --gtest_brief=1; done )
fi

echo "heed: all tests passed"
