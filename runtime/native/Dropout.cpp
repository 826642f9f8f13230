//===- Dropout.cpp - counter-based dropout, vectorised -------------------===//
//
// Built with -ffp-contract=off (CMakeLists.txt): the residual form r + x * scale
// must round the product before the sum, as the reference's dropout-then-add does.
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/native/Native.h"
#include "runtime/Random.h"
#include "runtime/native/VecMath.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace heed::rt::native {

using namespace detail;

namespace {

// runtime/Random.cpp's generator, inlined: hash64(seed, stream, index) =
// mix(mix(mix(seed + G) ^ (stream + 2G)) ^ (index + 3G)); the first two rounds
// depend only on (seed, step) and are hoisted. The dropout tests compare bit for bit.
constexpr uint64_t kGolden = kHashGolden;
inline uint64_t mix(uint64_t z) { return mix64(z); }

}  // namespace

//===--- Dropout ----------------------------------------------------------===//

namespace {

/// One block of dropout. `keep` is the threshold on the raw 64 bits: the
/// reference keeps an element when u = (bits >> 40) * 2^-24 >= p, i.e. when the
/// integer bits >> 40 >= p * 2^24 (exact in f32), i.e. bits >= ceil(p * 2^24) << 40,
/// so the mask is one unsigned 64-bit compare and no int-to-float conversion.
/// The splitmix64 round is 64-bit multiplies and shifts, which vectorise with
/// AVX-512DQ (vpmullq) and not at the baseline ISA.
/// With `r`, y = r + dropout(x) in the same pass (the residual connection that
/// follows a dropout).
HEED_AI void dropoutBlock(const float *x, const float *r, float *y, int64_t i0, int64_t i1,
                          uint64_t h, uint64_t base, uint64_t keep, float scale) {
  if (r) {
#pragma omp simd
    for (int64_t i = i0; i < i1; ++i) {
      const uint64_t bits = mix(h ^ ((uint64_t)i + base));
      y[i] = r[i] + (bits >= keep ? x[i] * scale : 0.0f);
    }
    return;
  }
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const uint64_t bits = mix(h ^ ((uint64_t)i + base));
    y[i] = bits >= keep ? x[i] * scale : 0.0f;
  }
}
HEED_AVX512 void dropoutBlockAvx512(const float *x, const float *r, float *y, int64_t i0, int64_t i1,
                                    uint64_t h, uint64_t base, uint64_t keep, float scale) {
  dropoutBlock(x, r, y, i0, i1, h, base, keep, scale);
}
void dropoutBlockBaseline(const float *x, const float *r, float *y, int64_t i0, int64_t i1, uint64_t h,
                          uint64_t base, uint64_t keep, float scale) {
  dropoutBlock(x, r, y, i0, i1, h, base, keep, scale);
}

}  // namespace

void dropout(const float *x, float *y, int64_t n, float p, uint64_t seed, uint64_t step, uint64_t indexOffset,
             const float *residual) {
  if (!(p >= 0.0f && p <= 1.0f))
    throw Error(fmt::format("dropout: p = {} is outside [0, 1]", p));
  if (n <= 0) return;
  if (residual && (p == 0.0f || p == 1.0f)) {  // r + x, or r + 0
    const bool keepAll = p == 0.0f;
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin / 4)
    for (int64_t i = 0; i < n; ++i) y[i] = residual[i] + (keepAll ? x[i] : 0.0f);
    return;
  }
  if (p == 0.0f) {
    if (x != y) std::memcpy(y, x, (size_t)n * sizeof(float));
    return;
  }
  if (p == 1.0f) {
    std::fill(y, y + n, 0.0f);
    return;
  }
  const float scale = 1.0f / (1.0f - p);
  const uint64_t h = mix(mix(seed + kGolden) ^ (step + 2 * kGolden));
  const uint64_t keep = (uint64_t)std::ceil(p * 16777216.0f) << 40;  // p <= 1 - 2^-24: < 2^64
  const uint64_t base = indexOffset + 3 * kGolden;
  auto block = cpuHasAvx512() ? dropoutBlockAvx512 : dropoutBlockBaseline;
  constexpr int64_t kBlock = 4096;  // elements per task; the result does not depend on it
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n >= kParallelMin / 4)
  for (int64_t b = 0; b < blocks; ++b)
    block(x, residual, y, b * kBlock, std::min(n, (b + 1) * kBlock), h, base, keep, scale);
}

}  // namespace heed::rt::native
