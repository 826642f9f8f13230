//===- LayerNorm.cpp - layer norm forward/backward ------------------------===//
//
// Two implementations (Variants.h): threaded loops, and oneDNN's
// layer_normalization primitives (kept for bench/native_kernels.cpp to compare).
// The public entry points use the loops: one task per fixed block of rows, each
// row visited once, built for AVX-512 and for baseline x86-64.
//
//===----------------------------------------------------------------------===//

#include "runtime/Precision.h"
#include "runtime/native/Dnnl.h"
#include "runtime/native/Native.h"
#include "runtime/native/Variants.h"
#include "runtime/native/VecMath.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace {

constexpr int64_t kRowBlock = 32;  // rows per task; fixed, whatever the thread count

/// Sums of a row's deviations d = x - x0 from a point x0, and of g = dy * gamma
/// (dy null: not wanted), in one loop: float SIMD sums over 256 elements,
/// added in double.
struct RowSums {
  double d = 0, dd = 0, g = 0, gd = 0;
};
HEED_AI RowSums rowSums(const float *xr, const float *dyr, const float *gamma, int64_t dim,
                        float x0) {
  RowSums t;
  for (int64_t j0 = 0; j0 < dim; j0 += 256) {
    const int64_t j1 = std::min(dim, j0 + 256);
    float s = 0.0f, ss = 0.0f, sg = 0.0f, sgd = 0.0f;
    if (dyr) {
#pragma omp simd reduction(+ : s, ss, sg, sgd)
      for (int64_t j = j0; j < j1; ++j) {
        const float d = xr[j] - x0, g = dyr[j] * gamma[j];
        s += d;
        ss += d * d;
        sg += g;
        sgd += g * d;
      }
    } else {
#pragma omp simd reduction(+ : s, ss)
      for (int64_t j = j0; j < j1; ++j) {
        const float d = xr[j] - x0;
        s += d;
        ss += d * d;
      }
    }
    t.d += s, t.dd += ss, t.g += sg, t.gd += sgd;
  }
  return t;
}

/// Mean and rstd from sums of deviations from x0, a value of the row: the
/// shifted sums keep E[d^2] - E[d]^2 free of the cancellation E[x^2] - E[x]^2
/// suffers at a large mean, and both come from one visit of the row.
HEED_AI void statsFrom(const RowSums &t, int64_t dim, float x0, float eps, float &mean,
                       float &rstd, double &meanD) {
  meanD = t.d / (double)dim;
  const double var = std::max(0.0, t.dd / (double)dim - meanD * meanD);
  mean = (float)((double)x0 + meanD);
  rstd = (float)(1.0 / std::sqrt(var + (double)eps));
}

HEED_AI void rowStats(const float *xr, int64_t dim, float eps, float &mean, float &rstd) {
  double meanD;
  statsFrom(rowSums(xr, nullptr, nullptr, dim, xr[0]), dim, xr[0], eps, mean, rstd, meanD);
}

/// Rows [r0, r1) of the forward: statistics and y in one visit of each row
/// (it stays in L1 between the three loops).
/// y16 (nullable) receives y rounded to bf16 (a bf16 matmul's input), from the row in L1.
/// y null (y16 not): only bf16 matmuls read y, so each row goes through a scratch row and
/// only its rounding is stored (the same values: the same loops).
HEED_AI void forwardRows(const float *x, const float *gamma, const float *beta, float *y,
                         uint16_t *y16, float *meanOut, float *rstdOut, int64_t r0, int64_t r1,
                         int64_t dim, float eps) {
  thread_local std::vector<float> scratchRow;
  if (!y && (int64_t)scratchRow.size() < dim) scratchRow.resize((size_t)dim);
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * dim;
    float *yr = y ? y + r * dim : scratchRow.data();
    float mean, rstd;
    rowStats(xr, dim, eps, mean, rstd);
#pragma omp simd
    for (int64_t j = 0; j < dim; ++j) yr[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j];
    if (y16) {
      uint16_t *y16r = y16 + r * dim;
#pragma omp simd
      for (int64_t j = 0; j < dim; ++j) y16r[j] = toBf16Bits(yr[j]);
    }
    if (meanOut) meanOut[r] = mean;
    if (rstdOut) rstdOut[r] = rstd;
  }
}

// With xhat = (x - mean) * rstd and g = dy * gamma (per row):
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
//   dgamma = sum_rows dy * xhat,  dbeta = sum_rows dy.
// Each row is visited once (statistics, the two sums, then dx and this block's
// dgamma/dbeta partials, while the row is in L1); xhat and g are recomputed in
// registers rather than stored.
// dx16 (nullable) receives dx rounded to bf16 (a bf16 matmul's input), from the row in L1.
HEED_AI void backwardBlock(const float *x, const float *gamma, const float *meanIn,
                           const float *rstdIn, const float *dy, const float *res, float *dx,
                           uint16_t *dx16, float *pg, float *pb, int64_t r0, int64_t r1, int64_t dim,
                           float eps) {
  if (pg) {
    std::fill(pg, pg + dim, 0.0f);
    std::fill(pb, pb + dim, 0.0f);
  }
  for (int64_t r = r0; r < r1; ++r) {
    const float *xr = x + r * dim, *dyr = dy + r * dim;
    float *dxr = dx + r * dim;
    const float *resr = res ? res + r * dim : nullptr;  // dx += r as it is written
    // One loop gives the statistics (unless saved) and both sums of g:
    // sum g xhat = rstd (sum g d - (mean - x0) sum g), d = x - x0.
    const bool saved = meanIn && rstdIn;
    const float x0 = saved ? meanIn[r] : xr[0];
    const RowSums t = rowSums(xr, dyr, gamma, dim, x0);
    float mean, rstd;
    double shift = 0.0;  // mean - x0
    if (saved) {
      mean = meanIn[r];
      rstd = rstdIn[r];
    } else {
      statsFrom(t, dim, x0, eps, mean, rstd, shift);
    }
    const double sumG = t.g, sumGX = (double)rstd * (t.gd - shift * t.g);
    const float meanG = (float)(sumG / (double)dim), meanGX = (float)(sumGX / (double)dim);
    if (pg) {
#pragma omp simd
      for (int64_t j = 0; j < dim; ++j) {
        const float xh = (xr[j] - mean) * rstd;
        const float d = rstd * (dyr[j] * gamma[j] - meanG - xh * meanGX);
        dxr[j] = resr ? resr[j] + d : d;
        pg[j] += dyr[j] * xh;
        pb[j] += dyr[j];
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < dim; ++j) {
        const float xh = (xr[j] - mean) * rstd;
        const float d = rstd * (dyr[j] * gamma[j] - meanG - xh * meanGX);
        dxr[j] = resr ? resr[j] + d : d;
      }
    }
    if (dx16) {
      uint16_t *dx16r = dx16 + r * dim;
#pragma omp simd
      for (int64_t j = 0; j < dim; ++j) dx16r[j] = toBf16Bits(dxr[j]);
    }
  }
}

/// dgamma/dbeta = the blocks' partials added in block order, in double.
HEED_AI void sumPartials(const float *part, int64_t nb, int64_t dim, double *acc, float *dgamma,
                         float *dbeta) {
  std::fill(acc, acc + 2 * dim, 0.0);
  for (int64_t b = 0; b < nb; ++b) {
    const float *p = part + b * 2 * dim;
#pragma omp simd
    for (int64_t j = 0; j < 2 * dim; ++j) acc[j] += (double)p[j];
  }
  for (int64_t j = 0; j < dim; ++j) {
    if (dgamma) dgamma[j] = (float)acc[j];
    if (dbeta) dbeta[j] = (float)acc[dim + j];
  }
}

HEED_AVX512 void forwardRowsAvx512(const float *x, const float *gamma, const float *beta,
                                   float *y, uint16_t *y16, float *mean, float *rstd, int64_t r0,
                                   int64_t r1, int64_t dim, float eps) {
  forwardRows(x, gamma, beta, y, y16, mean, rstd, r0, r1, dim, eps);
}
void forwardRowsGeneric(const float *x, const float *gamma, const float *beta, float *y,
                        uint16_t *y16, float *mean, float *rstd, int64_t r0, int64_t r1,
                        int64_t dim, float eps) {
  forwardRows(x, gamma, beta, y, y16, mean, rstd, r0, r1, dim, eps);
}
HEED_AVX512 void backwardBlockAvx512(const float *x, const float *gamma, const float *mean,
                                     const float *rstd, const float *dy, const float *res,
                                     float *dx, uint16_t *dx16, float *pg, float *pb, int64_t r0,
                                     int64_t r1, int64_t dim, float eps) {
  backwardBlock(x, gamma, mean, rstd, dy, res, dx, dx16, pg, pb, r0, r1, dim, eps);
}
void backwardBlockGeneric(const float *x, const float *gamma, const float *mean,
                          const float *rstd, const float *dy, const float *res, float *dx,
                          uint16_t *dx16, float *pg, float *pb, int64_t r0, int64_t r1, int64_t dim,
                          float eps) {
  backwardBlock(x, gamma, mean, rstd, dy, res, dx, dx16, pg, pb, r0, r1, dim, eps);
}
HEED_AVX512 void sumPartialsAvx512(const float *part, int64_t nb, int64_t dim, double *acc,
                                   float *dgamma, float *dbeta) {
  sumPartials(part, nb, dim, acc, dgamma, dbeta);
}
void sumPartialsGeneric(const float *part, int64_t nb, int64_t dim, double *acc, float *dgamma,
                        float *dbeta) {
  sumPartials(part, nb, dim, acc, dgamma, dbeta);
}

thread_local std::vector<float> tlPartial;
thread_local std::vector<double> tlAcc;

}  // namespace

namespace variant {

// One task per block of kRowBlock rows (a fixed partition): a thread count
// changes which thread runs a block, never what it computes.
void layerNormForwardLoops(const float *x, const float *gamma, const float *beta, float *y,
                           float *meanOut, float *rstdOut, int64_t rows, int64_t dim,
                           float eps, uint16_t *y16) {
  if (rows <= 0 || dim <= 0) return;
  auto rowsFn = cpuHasAvx512() ? forwardRowsAvx512 : forwardRowsGeneric;
  const int64_t nb = (rows + kRowBlock - 1) / kRowBlock;
#pragma omp parallel for schedule(static) if (rows * dim >= kParallelMin && nb > 1)
  for (int64_t b = 0; b < nb; ++b)
    rowsFn(x, gamma, beta, y, y16, meanOut, rstdOut, b * kRowBlock,
           std::min(rows, (b + 1) * kRowBlock), dim, eps);
}

// dgamma/dbeta: float partial sums per block of kRowBlock rows, then the
// blocks are added in order in double: the same bits for any thread count.
void layerNormBackwardLoops(const float *x, const float *gamma, const float *meanIn,
                            const float *rstdIn, const float *dy, float *dx, float *dgamma,
                            float *dbeta, int64_t rows, int64_t dim, float eps,
                            const float *residual, uint16_t *dx16) {
  if (dim <= 0) return;
  if (rows <= 0) {
    if (dgamma) std::fill(dgamma, dgamma + dim, 0.0f);
    if (dbeta) std::fill(dbeta, dbeta + dim, 0.0f);
    return;
  }
  const bool avx = cpuHasAvx512();
  auto blockFn = avx ? backwardBlockAvx512 : backwardBlockGeneric;
  const int64_t nb = (rows + kRowBlock - 1) / kRowBlock;
  const bool wantParams = dgamma || dbeta;
  if (wantParams && (int64_t)tlPartial.size() < nb * 2 * dim) tlPartial.resize((size_t)(nb * 2 * dim));
  float *part = wantParams ? tlPartial.data() : nullptr;
#pragma omp parallel for schedule(static) if (rows * dim >= kParallelMin && nb > 1)
  for (int64_t b = 0; b < nb; ++b) {
    float *pg = part ? part + b * 2 * dim : nullptr;
    blockFn(x, gamma, meanIn, rstdIn, dy, residual, dx, dx16, pg, pg ? pg + dim : nullptr, b * kRowBlock,
            std::min(rows, (b + 1) * kRowBlock), dim, eps);
  }
  if (!wantParams) return;
  if ((int64_t)tlAcc.size() < 2 * dim) tlAcc.resize((size_t)(2 * dim));
  (avx ? sumPartialsAvx512 : sumPartialsGeneric)(part, nb, dim, tlAcc.data(), dgamma, dbeta);
}

//===--- oneDNN -----------------------------------------------------------===//

namespace {

using dnnl::memory;

struct LnFwd {
  dnnl::layer_normalization_forward::primitive_desc pd;
  dnnl::layer_normalization_forward prim;
  memory x, y, mean, var, scale, shift;
};
struct LnBwd {
  dnnl::layer_normalization_backward prim;
  memory x, dy, dx, mean, var, scale, shift, dscale, dshift;
};

const auto kLnFlags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;

LnFwd makeLnFwd(int64_t rows, int64_t dim, float eps) {
  auto md = plainDesc({rows, dim});
  dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_training, md, eps,
                                            kLnFlags);
  dnnl::layer_normalization_forward::primitive_desc pd(d, cpuEngine());
  return LnFwd{pd,
               dnnl::layer_normalization_forward(pd),
               userMemory(md),
               userMemory(md),
               userMemory(pd.mean_desc()),
               userMemory(pd.variance_desc()),
               userMemory(plainDesc({dim})),
               userMemory(plainDesc({dim}))};
}

thread_local PrimCache<4, LnFwd> lnFwdCache;
thread_local PrimCache<4, LnBwd> lnBwdCache;

int64_t epsBits(float eps) { return (int64_t)__builtin_bit_cast(uint32_t, eps); }

}  // namespace

void layerNormForwardDnnl(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *var, int64_t rows, int64_t dim, float eps) {
  if (rows <= 0 || dim <= 0) return;
  SerialIfSmall serial(rows * dim < kDnnlSerialElems);
  Key<4> key{{rows, dim, epsBits(eps), omp_get_max_threads()}};
  LnFwd &e = lnFwdCache.get(key, [&] { return makeLnFwd(rows, dim, eps); });
  setHandle(e.x, x);
  setHandle(e.y, y);
  setHandle(e.mean, mean);
  setHandle(e.var, var);
  setHandle(e.scale, gamma);
  setHandle(e.shift, beta);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, e.x},
                               {DNNL_ARG_DST, e.y},
                               {DNNL_ARG_MEAN, e.mean},
                               {DNNL_ARG_VARIANCE, e.var},
                               {DNNL_ARG_SCALE, e.scale},
                               {DNNL_ARG_SHIFT, e.shift}});
  cpuStream().wait();
}

void layerNormBackwardDnnl(const float *x, const float *gamma, const float *mean,
                           const float *var, const float *dy, float *dx, float *dgamma,
                           float *dbeta, int64_t rows, int64_t dim, float eps) {
  if (rows <= 0 || dim <= 0) return;
  SerialIfSmall serial(rows * dim < kDnnlSerialElems);
  Key<4> key{{rows, dim, epsBits(eps), omp_get_max_threads()}};
  LnBwd &e = lnBwdCache.get(key, [&] {
    LnFwd f = makeLnFwd(rows, dim, eps);
    auto md = plainDesc({rows, dim});
    dnnl::layer_normalization_backward::desc d(dnnl::prop_kind::backward, md, md, eps,
                                               kLnFlags);
    dnnl::layer_normalization_backward::primitive_desc pd(d, cpuEngine(), f.pd);
    auto vec = plainDesc({dim});
    return LnBwd{dnnl::layer_normalization_backward(pd),
                 userMemory(md),
                 userMemory(md),
                 userMemory(md),
                 userMemory(pd.mean_desc()),
                 userMemory(pd.variance_desc()),
                 userMemory(vec),
                 userMemory(vec),
                 userMemory(vec),
                 userMemory(vec)};
  });
  setHandle(e.x, x);
  setHandle(e.dy, dy);
  setHandle(e.dx, dx);
  setHandle(e.mean, mean);
  setHandle(e.var, var);
  setHandle(e.scale, gamma);
  setHandle(e.shift, gamma);  // required at execute time, never read
  setHandle(e.dscale, dgamma);
  setHandle(e.dshift, dbeta);
  e.prim.execute(cpuStream(), {{DNNL_ARG_SRC, e.x},
                               {DNNL_ARG_DIFF_DST, e.dy},
                               {DNNL_ARG_DIFF_SRC, e.dx},
                               {DNNL_ARG_MEAN, e.mean},
                               {DNNL_ARG_VARIANCE, e.var},
                               {DNNL_ARG_SCALE, e.scale},
                               {DNNL_ARG_SHIFT, e.shift},
                               {DNNL_ARG_DIFF_SCALE, e.dscale},
                               {DNNL_ARG_DIFF_SHIFT, e.dshift}});
  cpuStream().wait();
}

}  // namespace variant

// The public entry points run on the loops: one visit per row, AVX-512 when the
// CPU has it, and parameter gradients that do not depend on the thread count
// (oneDNN's do). At [2048,128] they measured as fast as oneDNN with saved
// statistics, and faster without (oneDNN needs them computed in a pass of their
// own); docs/BENCHMARKS.md has the numbers.
void layerNormForward(const float *x, const float *gamma, const float *beta, float *y,
                      float *mean_out, float *rstd_out, int64_t rows, int64_t dim, float eps,
                      uint16_t *y16) {
  variant::layerNormForwardLoops(x, gamma, beta, y, mean_out, rstd_out, rows, dim, eps, y16);
}

void layerNormBackward(const float *x, const float *gamma, const float *mean, const float *rstd,
                       const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows,
                       int64_t dim, float eps, const float *residual, uint16_t *dx16) {
  variant::layerNormBackwardLoops(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, dim, eps,
                                  residual, dx16);
}

}  // namespace heed::rt::native
