//===- Elementwise.cpp - dropout and gelu ---------------------------------===//

#include "runtime/Error.h"
#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"
#include "runtime/Random.h"
#include "runtime/native/Variants.h"
#include "runtime/native/VecMath.h"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

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

/// Elements below which dropout runs on the calling thread: vectorized, one
/// thread does a [128, 8, 128] activation (g2p's 8/8 bucket) in ~60 us, and
/// waking the second thread costs 5-10 us idle (passive), more on a loaded machine.
constexpr int64_t kDropoutParallelMin = 1 << 16;

// The mask costs two 64-bit multiplies per element: at the baseline ISA GCC
// keeps them scalar (SSE2 has no 64-bit multiply), ~2 ns per element, more
// than the rest of a bucketed g2p step's elementwise work. The AVX-512 build
// does them 8 lanes at a time (vpmullq). Integer arithmetic: the same bits.
HEED_AI void dropoutRange(const float *x, float *y, int64_t i0, int64_t i1, float p, float scale, uint64_t h,
                          uint64_t indexOffset) {
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    const uint64_t bits = mix(h ^ ((uint64_t)i + indexOffset + 3 * kGolden));
    const float u = (float)(int32_t)(bits >> 40) * (1.0f / 16777216.0f);
    y[i] = u >= p ? x[i] * scale : 0.0f;
  }
}

void dropoutRangeGeneric(const float *x, float *y, int64_t i0, int64_t i1, float p, float scale, uint64_t h,
                         uint64_t indexOffset) {
  dropoutRange(x, y, i0, i1, p, scale, h, indexOffset);
}

HEED_AVX512 void dropoutRangeAvx512(const float *x, float *y, int64_t i0, int64_t i1, float p, float scale,
                                    uint64_t h, uint64_t indexOffset) {
  dropoutRange(x, y, i0, i1, p, scale, h, indexOffset);
}

}  // namespace

void dropout(const float *x, float *y, int64_t n, float p, uint64_t seed, uint64_t step, uint64_t indexOffset) {
  if (!(p >= 0.0f && p <= 1.0f))
    throw Error(fmt::format("dropout: p = {} is outside [0, 1]", p));
  if (n <= 0) return;
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
  auto range = cpuHasAvx512() ? dropoutRangeAvx512 : dropoutRangeGeneric;
  const int64_t chunk = 1 << 14;
  const int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n >= kDropoutParallelMin)
  for (int64_t c = 0; c < chunks; ++c) range(x, y, c * chunk, std::min(n, (c + 1) * chunk), p, scale, h, indexOffset);
}

//===--- GELU -------------------------------------------------------------===//

namespace variant {

void geluForwardLoops(const float *x, float *y, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin / 4)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    y[i] = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752440f));
  }
}

void geluBackwardLoops(const float *x, const float *dy, float *dx, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin / 4)
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752440f));
    const float pdf = 0.39894228040143267794f * std::exp(-0.5f * v * v);
    dx[i] = dy[i] * (cdf + v * pdf);
  }
}

namespace {
using dnnl::memory;
struct EwFwd {
  dnnl::eltwise_forward prim;
  memory x, y;
};
struct EwBwd {
  dnnl::eltwise_backward prim;
  memory x, dy, dx;
};
thread_local PrimCache<2, EwFwd> geluFwdCache;
thread_local PrimCache<2, EwBwd> geluBwdCache;

dnnl::eltwise_forward::primitive_desc geluFwdPd(const memory::desc &md) {
  return dnnl::eltwise_forward::primitive_desc(
      {dnnl::prop_kind::forward_training, dnnl::algorithm::eltwise_gelu_erf, md, 0.f, 0.f},
      cpuEngine());
}
}  // namespace

void geluForwardDnnl(const float *x, float *y, int64_t n) {
  if (n <= 0) return;
  SerialIfSmall serial(n < kDnnlSerialElems / 4);
  EwFwd &e = geluFwdCache.get(Key<2>{{n, omp_get_max_threads()}}, [&] {
    auto md = plainDesc({n});
    return EwFwd{dnnl::eltwise_forward(geluFwdPd(md)), userMemory(md), userMemory(md)};
  });
  setHandle(e.x, x);
  setHandle(e.y, y);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, e.x}, {DNNL_ARG_DST, e.y}});
  cpuStream().wait();
}

void geluBackwardDnnl(const float *x, const float *dy, float *dx, int64_t n) {
  if (n <= 0) return;
  SerialIfSmall serial(n < kDnnlSerialElems / 4);
  EwBwd &e = geluBwdCache.get(Key<2>{{n, omp_get_max_threads()}}, [&] {
    auto md = plainDesc({n});
    dnnl::eltwise_backward::primitive_desc pd(
        {dnnl::algorithm::eltwise_gelu_erf, md, md, 0.f, 0.f}, cpuEngine(), geluFwdPd(md));
    return EwBwd{dnnl::eltwise_backward(pd), userMemory(md), userMemory(md), userMemory(md)};
  });
  setHandle(e.x, x);
  setHandle(e.dy, dy);
  setHandle(e.dx, dx);
  e.prim.execute(cpuStream(),
                 {{DNNL_ARG_SRC, e.x}, {DNNL_ARG_DIFF_DST, e.dy}, {DNNL_ARG_DIFF_SRC, e.dx}});
  cpuStream().wait();
}

}  // namespace variant

namespace {
// Set from bench/native_kernels.cpp measurements.
constexpr bool kGeluDnnl = true;
}  // namespace

void geluForward(const float *x, float *y, int64_t n) {
  if (kGeluDnnl) variant::geluForwardDnnl(x, y, n);
  else variant::geluForwardLoops(x, y, n);
}

void geluBackward(const float *x, const float *dy, float *dx, int64_t n) {
  if (kGeluDnnl) variant::geluBackwardDnnl(x, dy, dx, n);
  else variant::geluBackwardLoops(x, dy, dx, n);
}

}  // namespace heed::rt::native
