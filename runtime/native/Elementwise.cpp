//===- Elementwise.cpp - gelu ---------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"
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
