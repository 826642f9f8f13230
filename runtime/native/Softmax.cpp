//===- Softmax.cpp - softmax / log-softmax over the last axis -------------===//
//
// Two implementations (Variants.h): threaded loops with a vectorised exp, and
// oneDNN's softmax / logsoftmax primitives. The public entry points use the
// faster one as measured by bench/native_kernels.cpp: oneDNN (see kUseDnnl).
//
//===----------------------------------------------------------------------===//

#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"
#include "runtime/native/Variants.h"
#include "runtime/native/VecMath.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace variant {

void softmaxForwardLoops(const float *x, float *y, int64_t rows, int64_t n, bool log) {
  if (rows <= 0 || n <= 0) return;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * n;
    float *yr = y + r * n;
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < n; ++j) m = xr[j] > m ? xr[j] : m;  // skips NaN, like std::max
    double total = 0.0;
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
      const int64_t j1 = std::min(n, j0 + 256);
      float s = 0.0f;
      if (log) {
#pragma omp simd reduction(+ : s)
        for (int64_t j = j0; j < j1; ++j) s += fastExp(xr[j] - m);
      } else {
#pragma omp simd reduction(+ : s)
        for (int64_t j = j0; j < j1; ++j) {
          const float e = fastExp(xr[j] - m);
          yr[j] = e;
          s += e;
        }
      }
      total += s;
    }
    if (log) {
      // (x - m) - log S rather than x - (m + log S): x - m is exact for the
      // entries that matter, so large logits keep their precision.
      const float logS = (float)std::log(total);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - m) - logS;
    } else {
      const float inv = (float)(1.0 / total);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
    }
  }
}

void softmaxBackwardLoops(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                          bool log) {
  if (rows <= 0 || n <= 0) return;
#pragma omp parallel for schedule(static) if (rows * n >= kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float *yr = y + r * n, *dyr = dy + r * n;
    float *dxr = dx + r * n;
    if (log) {
      const float s = (float)sumBlocked(dyr, n);
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) dxr[j] = dyr[j] - fastExp(yr[j]) * s;
    } else {
      double total = 0.0;
      for (int64_t j0 = 0; j0 < n; j0 += 256) {
        const int64_t j1 = std::min(n, j0 + 256);
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = j0; j < j1; ++j) s += dyr[j] * yr[j];
        total += s;
      }
      const float s = (float)total;
#pragma omp simd
      for (int64_t j = 0; j < n; ++j) dxr[j] = yr[j] * (dyr[j] - s);
    }
  }
}

//===--- oneDNN -----------------------------------------------------------===//

namespace {

using dnnl::memory;

struct SmFwd {
  dnnl::primitive prim;
  memory x, y;
};
struct SmBwd {
  dnnl::primitive prim;
  memory y, dy, dx;
};

thread_local PrimCache<4, SmFwd> smFwdCache;
thread_local PrimCache<4, SmBwd> smBwdCache;

dnnl::primitive makeFwd(const memory::desc &md, bool log, dnnl::primitive_desc *hintOut) {
  const auto pk = dnnl::prop_kind::forward_training;
  if (log) {
    dnnl::logsoftmax_forward::primitive_desc pd({pk, md, 1}, cpuEngine());
    if (hintOut) *hintOut = pd;
    return dnnl::logsoftmax_forward(pd);
  }
  dnnl::softmax_forward::primitive_desc pd({pk, md, 1}, cpuEngine());
  if (hintOut) *hintOut = pd;
  return dnnl::softmax_forward(pd);
}

}  // namespace

void softmaxForwardDnnl(const float *x, float *y, int64_t rows, int64_t n, bool log) {
  if (rows <= 0 || n <= 0) return;
  SerialIfSmall serial(rows * n < kDnnlSerialElems);
  Key<4> key{{rows, n, log, omp_get_max_threads()}};
  SmFwd &e = smFwdCache.get(key, [&] {
    auto md = plainDesc({rows, n});
    return SmFwd{makeFwd(md, log, nullptr), userMemory(md), userMemory(md)};
  });
  setHandle(e.x, x);
  setHandle(e.y, y);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, e.x}, {DNNL_ARG_DST, e.y}});
  cpuStream().wait();
}

void softmaxBackwardDnnl(const float *y, const float *dy, float *dx, int64_t rows, int64_t n,
                         bool log) {
  if (rows <= 0 || n <= 0) return;
  SerialIfSmall serial(rows * n < kDnnlSerialElems);
  Key<4> key{{rows, n, log, omp_get_max_threads()}};
  SmBwd &e = smBwdCache.get(key, [&] {
    auto md = plainDesc({rows, n});
    dnnl::primitive prim;
    if (log) {
      dnnl::logsoftmax_forward::primitive_desc hint(
          {dnnl::prop_kind::forward_training, md, 1}, cpuEngine());
      dnnl::logsoftmax_backward::primitive_desc pd({md, md, 1}, cpuEngine(), hint);
      prim = dnnl::logsoftmax_backward(pd);
    } else {
      dnnl::softmax_forward::primitive_desc hint({dnnl::prop_kind::forward_training, md, 1},
                                                 cpuEngine());
      dnnl::softmax_backward::primitive_desc pd({md, md, 1}, cpuEngine(), hint);
      prim = dnnl::softmax_backward(pd);
    }
    return SmBwd{prim, userMemory(md), userMemory(md), userMemory(md)};
  });
  setHandle(e.y, y);
  setHandle(e.dy, dy);
  setHandle(e.dx, dx);
  e.prim.execute(cpuStream(),
                 {{DNNL_ARG_DST, e.y}, {DNNL_ARG_DIFF_DST, e.dy}, {DNNL_ARG_DIFF_SRC, e.dx}});
  cpuStream().wait();
}

bool markSpecialRows(const float *x, int64_t rows, int64_t n, uint8_t *flags) {
  if (rows <= 0 || n <= 0) return false;
  const float inf = std::numeric_limits<float>::infinity();
  int any = 0;
#pragma omp parallel for schedule(static) reduction(| : any) \
    if (rows * n >= 4 * kParallelMin && rows > 1)
  for (int64_t r = 0; r < rows; ++r) {
    const float *xr = x + r * n;
    int special = 0, aboveNegInf = 0;
#pragma omp simd reduction(| : special, aboveNegInf)
    for (int64_t j = 0; j < n; ++j) {
      special |= !(xr[j] < inf);  // NaN or +inf
      aboveNegInf |= xr[j] > -inf;
    }
    flags[r] = (uint8_t)(special || !aboveNegInf);
    any |= flags[r];
  }
  return any != 0;
}

void fillNaNRows(float *y, int64_t rows, int64_t n, const uint8_t *flags) {
  for (int64_t r = 0; r < rows; ++r)
    if (flags[r]) std::fill(y + r * n, y + (r + 1) * n, std::numeric_limits<float>::quiet_NaN());
}

}  // namespace variant

namespace {
// oneDNN's JIT softmax measured 3x faster forward and 1.4x backward than the
// baseline-ISA loops at [8192, 128] (bench/native_kernels.cpp).
constexpr bool kUseDnnl = true;
}  // namespace

// oneDNN neither spreads a NaN logit to its whole row nor (reliably) turns rows
// with +inf, or only -inf, into NaN rows as the reference (and PyTorch) do.
// A read-only pass over x marks such rows first (so y may alias x), and they
// are overwritten with NaN afterwards: in the reference every such row is all
// NaN, for softmax and log-softmax alike.
namespace {
void softmaxPublic(const float *x, float *y, int64_t rows, int64_t n, bool log) {
  if (!kUseDnnl) return variant::softmaxForwardLoops(x, y, rows, n, log);
  if (rows <= 0 || n <= 0) return;
  thread_local std::vector<uint8_t> flags;
  flags.resize((size_t)rows);
  const bool special = variant::markSpecialRows(x, rows, n, flags.data());
  variant::softmaxForwardDnnl(x, y, rows, n, log);
  if (special) variant::fillNaNRows(y, rows, n, flags.data());
}
}  // namespace

void softmaxForward(const float *x, float *y, int64_t rows, int64_t n) {
  softmaxPublic(x, y, rows, n, false);
}
void softmaxBackward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n) {
  if (kUseDnnl) variant::softmaxBackwardDnnl(y, dy, dx, rows, n, false);
  else variant::softmaxBackwardLoops(y, dy, dx, rows, n, false);
}
void logSoftmaxForward(const float *x, float *y, int64_t rows, int64_t n) {
  softmaxPublic(x, y, rows, n, true);
}
void logSoftmaxBackward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n) {
  if (kUseDnnl) variant::softmaxBackwardDnnl(y, dy, dx, rows, n, true);
  else variant::softmaxBackwardLoops(y, dy, dx, rows, n, true);
}

}  // namespace heed::rt::native
