// Helpers shared by the native-kernel tests: random inputs and normwise errors.
#pragma once

#include "runtime/Random.h"
#include "runtime/Tensor.h"
#include "runtime/kernels/Reference.h"
#include "runtime/native/Native.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace heed::rt::native::test {

/// Deterministic uniform values in [lo, hi).
inline std::vector<float> randomVec(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[i] = lo + (hi - lo) * uniform01(seed, 7, (uint64_t)i);
  return v;
}

inline std::vector<int32_t> randomIds(int64_t n, int64_t V, uint64_t seed) {
  std::vector<int32_t> v((size_t)n);
  for (int64_t i = 0; i < n; ++i)
    v[i] = (int32_t)std::min<int64_t>(V - 1, (int64_t)(uniform01(seed, 11, (uint64_t)i) * V));
  return v;
}

inline Tensor tensorOf(const Shape &shape, const std::vector<float> &v) {
  return Tensor::fromF32(shape, v);
}

inline std::vector<float> valuesOf(const Tensor &t) {
  return std::vector<float>(t.f32(), t.f32() + t.size());
}

/// ||got - want|| / ||want|| (absolute if want is all zeros); NaN must match NaN.
inline double normwiseError(const float *got, const float *want, int64_t n) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isnan(want[i]) || std::isnan(got[i])) {
      if (std::isnan(want[i]) != std::isnan(got[i])) return INFINITY;
      continue;
    }
    if (std::isinf(want[i]) || std::isinf(got[i])) {
      if (want[i] != got[i]) return INFINITY;
      continue;
    }
    const double d = (double)got[i] - want[i];
    num += d * d;
    den += (double)want[i] * want[i];
  }
  return den > 0.0 ? std::sqrt(num / den) : std::sqrt(num);
}

inline void expectClose(const std::vector<float> &got, const std::vector<float> &want,
                        double tol = 1e-5, const char *what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  EXPECT_LE(normwiseError(got.data(), want.data(), (int64_t)got.size()), tol) << what;
}

inline void expectClose(const std::vector<float> &got, const Tensor &want, double tol = 1e-5,
                        const char *what = "") {
  expectClose(got, valuesOf(want), tol, what);
}

inline void expectBitEqual(const std::vector<float> &got, const std::vector<float> &want) {
  ASSERT_EQ(got.size(), want.size());
  if (got.empty()) return;  // memcmp of null pointers is undefined even for 0 bytes (UBSan)
  EXPECT_EQ(std::memcmp(got.data(), want.data(), got.size() * sizeof(float)), 0);
}

/// Runs the test body once per thread count (1 and the OpenMP default), restoring the default.
template <class F>
void forThreadCounts(F body) {
  for (int t : {1, 0}) {
    setThreads(t);
    SCOPED_TRACE(testing::Message() << "threads = " << numThreads());
    body();
  }
  setThreads(0);
}

}  // namespace heed::rt::native::test
