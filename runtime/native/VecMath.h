//===- VecMath.h - vectorisable math for the native loops -------*- C++ -*-===//
//
// Internal to heed_native. Branch-free inline functions that GCC vectorises
// inside `#pragma omp simd` loops at the baseline x86-64 ISA (glibc's vector
// expf is only offered under -ffast-math, which the runtime does not use).
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>

namespace heed::rt::native::detail {

/// exp(x) for x <= 88, ~1 ulp (Cephes expf polynomial, Cody-Waite reduction).
/// exp(-inf) = 0, NaN propagates; results below 2^-126 flush to 0.
inline float fastExp(float x) {
  // n = round(x / ln2), from a clamped copy so the exponent arithmetic stays in range
  // (NaN compares false and clamps to the low end; its NaN still flows through r).
  float xc = x > -87.0f ? x : -87.0f;
  xc = xc < 88.0f ? xc : 88.0f;
  const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float t = xc * 1.44269504088896341f + shifter;
  const float n = t - shifter;
  const int32_t ni = __builtin_bit_cast(int32_t, t) - __builtin_bit_cast(int32_t, shifter);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = __builtin_bit_cast(float, (ni + 127) << 23);
  const float y = p * scale;
  return x < -87.33654f ? 0.0f : y;
}

}  // namespace heed::rt::native::detail

namespace heed::rt::native::detail {

/// Kernels with an AVX-512 build put their body in a HEED_AI function (a
/// template or plain) and instantiate it twice: in a HEED_AVX512 function,
/// chosen when cpuHasAvx512(), and in a plain one for baseline x86-64. GCC
/// inlines the body into each, so its `omp simd` loops vectorise for that ISA.
#define HEED_AI inline __attribute__((always_inline))
#define HEED_AVX512 \
  __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,prefer-vector-width=512")))

/// The CPU has the AVX-512 subsets HEED_AVX512 compiles for.
inline bool cpuHasAvx512() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                          __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
  return yes;
}

/// Below this many elements a kernel runs on the calling thread: waking the
/// (passive) OpenMP team costs more than the work.
constexpr int64_t kParallelMin = 1 << 15;

/// Sum of x[0, n): float SIMD partial sums over blocks of 256, blocks added in double.
inline double sumBlocked(const float *x, int64_t n) {
  double total = 0.0;
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    const int64_t i1 = i0 + 256 < n ? i0 + 256 : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i1; ++i) s += x[i];
    total += s;
  }
  return total;
}

/// Sum of (x[i] - c)^2, blocked like sumBlocked.
inline double sumSqDevBlocked(const float *x, int64_t n, float c) {
  double total = 0.0;
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    const int64_t i1 = i0 + 256 < n ? i0 + 256 : n;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = i0; i < i1; ++i) {
      const float d = x[i] - c;
      s += d * d;
    }
    total += s;
  }
  return total;
}

}  // namespace heed::rt::native::detail
