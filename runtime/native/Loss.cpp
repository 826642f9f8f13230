//===- Loss.cpp - cross entropy forward/backward --------------------------===//
//
// Per non-ignored row with target t, m = max(x), S = sum exp(x - m):
//   lse = m + log S
//   loss_row = (1-s) (lse - x[t]) + s (lse - mean_c x[c])
//   loss = sum(loss_row) / count                      (0 if count == 0)
//   dlogits[c] = dloss / count * (exp(x[c] - m) / S - s/V - (1-s) [c == t])
// Rows run in parallel, in fixed blocks; the per-row losses are added in row
// order in double, so the loss does not depend on the thread count. Two
// implementations (Variants.h): loops with a vectorised exp, built for AVX-512
// and for baseline x86-64, which the public functions use, and one on oneDNN's
// softmax primitives (kept for the bench). The loops visit each row while it
// is in L1/L2: the forward reads it twice (max with the smoothing sum, then the
// exp sum), the backward three times (max; exp into the output, summed; scale),
// one exp per logit; oneDNN's path needed extra passes over the whole buffer
// (its softmax, the NaN/inf row check, the loss or scaling pass).
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/Precision.h"
#include "runtime/native/Native.h"
#include "runtime/native/Variants.h"
#include "runtime/native/VecMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace {

/// Validates smoothing and targets (on the calling thread); returns the count of
/// non-ignored rows.
int64_t checkTargets(const char *op, const int32_t *targets, int64_t rows, int64_t V,
                     float smoothing, int64_t ignoreIndex) {
  if (!(smoothing >= 0.0f && smoothing <= 1.0f))
    throw Error(fmt::format("{}: smoothing {} is outside [0, 1]", op, smoothing));
  int64_t count = 0;
  for (int64_t i = 0; i < rows; ++i) {
    const int32_t t = targets[i];
    if (ignoreIndex != -1 && t == ignoreIndex) continue;
    if (t < 0 || t >= V)
      throw Error(fmt::format("{}: target {} at row {} of {} is outside [0, {})", op, t, i,
                              rows, V));
    ++count;
  }
  return count;
}

inline bool ignored(int32_t t, int64_t ignoreIndex) {
  return ignoreIndex != -1 && t == ignoreIndex;
}

/// max, sum(exp(x - max)) and sum(x) of a row (sums blocked in float over 256
/// elements, blocks in double): two visits of the row, which stays in L1/L2.
HEED_AI void rowStats(const float *xr, int64_t V, bool wantSum, float &m, double &sumExp,
                      double &sumX) {
  float mx = -std::numeric_limits<float>::infinity();
  double sx = 0.0;
  if (wantSum) {
    for (int64_t c0 = 0; c0 < V; c0 += 256) {
      const int64_t c1 = std::min(V, c0 + 256);
      float s = 0.0f;
#pragma omp simd reduction(max : mx) reduction(+ : s)
      for (int64_t c = c0; c < c1; ++c) {
        mx = xr[c] > mx ? xr[c] : mx;
        s += xr[c];
      }
      sx += s;
    }
  } else {
#pragma omp simd reduction(max : mx)
    for (int64_t c = 0; c < V; ++c) mx = xr[c] > mx ? xr[c] : mx;
  }
  double total = 0.0;
  for (int64_t c0 = 0; c0 < V; c0 += 256) {
    const int64_t c1 = std::min(V, c0 + 256);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t c = c0; c < c1; ++c) s += fastExp(xr[c] - mx);
    total += s;
  }
  m = mx;
  sumExp = total;
  sumX = sx;
}

/// Per-row losses of rows [r0, r1) into rl (ignored rows: 0).
HEED_AI void forwardRows(const float *logits, const int32_t *targets, int64_t r0, int64_t r1,
                         int64_t V, double s, int64_t ignoreIndex, double *rl) {
  for (int64_t i = r0; i < r1; ++i) {
    if (ignored(targets[i], ignoreIndex)) {
      rl[i] = 0.0;
      continue;
    }
    const float *xr = logits + i * V;
    float m;
    double sumExp, sumX;
    rowStats(xr, V, s != 0.0, m, sumExp, sumX);
    const double logS = std::log(sumExp);
    double loss = (1.0 - s) * (((double)m - xr[targets[i]]) + logS);
    if (s != 0.0) loss += s * (((double)m + logS) - sumX / (double)V);
    rl[i] = loss;
  }
}

/// dlogits of rows [r0, r1): the row's statistics, then one write pass; d16
/// (nullable) receives the row rounded to bf16 while it is in L1/L2. dlogits null
/// (d16 not): only bf16 matmuls read the gradient, so each row is computed in a
/// scratch row and only its rounding is stored (the same values: the same loops).
HEED_AI void backwardRows(const float *logits, const int32_t *targets, float *dlogits,
                          uint16_t *d16, int64_t r0, int64_t r1, int64_t V, bool none,
                          float scale, float uniform, float hit, int64_t ignoreIndex) {
  thread_local std::vector<float> scratchRow;
  if (!dlogits && (int64_t)scratchRow.size() < V) scratchRow.resize((size_t)V);
  for (int64_t i = r0; i < r1; ++i) {
    float *orow = dlogits ? dlogits + i * V : scratchRow.data();
    if (none || ignored(targets[i], ignoreIndex)) {
      std::fill(orow, orow + V, 0.0f);
      if (d16) std::fill(d16 + i * V, d16 + (i + 1) * V, (uint16_t)0);
      continue;
    }
    const float *xr = logits + i * V;
    float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < V; ++c) m = xr[c] > m ? xr[c] : m;
    // exp once per logit: into the output row (in L1/L2), summed, then scaled.
    double sumExp = 0.0;
    for (int64_t c0 = 0; c0 < V; c0 += 256) {
      const int64_t c1 = std::min(V, c0 + 256);
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int64_t c = c0; c < c1; ++c) {
        const float e = fastExp(xr[c] - m);
        orow[c] = e;
        s += e;
      }
      sumExp += s;
    }
    const float inv = (float)(1.0 / sumExp);
#pragma omp simd
    for (int64_t c = 0; c < V; ++c) orow[c] = scale * (orow[c] * inv - uniform);
    orow[targets[i]] -= hit;
    if (d16) {
      uint16_t *r16 = d16 + i * V;
#pragma omp simd
      for (int64_t c = 0; c < V; ++c) r16[c] = toBf16Bits(orow[c]);
    }
  }
}

HEED_AVX512 void forwardRowsAvx512(const float *logits, const int32_t *targets, int64_t r0,
                                   int64_t r1, int64_t V, double s, int64_t ignoreIndex,
                                   double *rl) {
  forwardRows(logits, targets, r0, r1, V, s, ignoreIndex, rl);
}
void forwardRowsGeneric(const float *logits, const int32_t *targets, int64_t r0, int64_t r1,
                        int64_t V, double s, int64_t ignoreIndex, double *rl) {
  forwardRows(logits, targets, r0, r1, V, s, ignoreIndex, rl);
}
HEED_AVX512 void backwardRowsAvx512(const float *logits, const int32_t *targets, float *dlogits,
                                    uint16_t *d16, int64_t r0, int64_t r1, int64_t V, bool none,
                                    float scale, float uniform, float hit, int64_t ignoreIndex) {
  backwardRows(logits, targets, dlogits, d16, r0, r1, V, none, scale, uniform, hit, ignoreIndex);
}
void backwardRowsGeneric(const float *logits, const int32_t *targets, float *dlogits,
                         uint16_t *d16, int64_t r0, int64_t r1, int64_t V, bool none, float scale,
                         float uniform, float hit, int64_t ignoreIndex) {
  backwardRows(logits, targets, dlogits, d16, r0, r1, V, none, scale, uniform, hit, ignoreIndex);
}

/// Rows per task: about 64K logits, whatever the thread count.
int64_t rowBlock(int64_t V) { return std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(V, 1)); }

}  // namespace

namespace variant {

float crossEntropyForwardLoops(const float *logits, const int32_t *targets, int64_t rows,
                               int64_t V, float smoothing, int64_t ignoreIndex) {
  const int64_t count =
      checkTargets("cross_entropy", targets, rows, V, smoothing, ignoreIndex);
  if (count == 0) return 0.0f;
  thread_local std::vector<double> rowLoss;
  if ((int64_t)rowLoss.size() < rows) rowLoss.resize((size_t)rows);
  double *rl = rowLoss.data();
  auto fn = cpuHasAvx512() ? forwardRowsAvx512 : forwardRowsGeneric;
  const int64_t rb = rowBlock(V), nb = (rows + rb - 1) / rb;
#pragma omp parallel for schedule(static) if (rows * V >= kParallelMin && nb > 1)
  for (int64_t b = 0; b < nb; ++b)
    fn(logits, targets, b * rb, std::min(rows, (b + 1) * rb), V, smoothing, ignoreIndex, rl);
  double total = 0.0;
  for (int64_t i = 0; i < rows; ++i) total += rl[i];
  return (float)(total / (double)count);
}

void crossEntropyBackwardLoops(const float *logits, const int32_t *targets, float dloss,
                               float *dlogits, int64_t rows, int64_t V, float smoothing,
                               int64_t ignoreIndex, uint16_t *dlogits16) {
  const int64_t count =
      checkTargets("cross_entropy_grad", targets, rows, V, smoothing, ignoreIndex);
  const double scaleD = count ? (double)dloss / (double)count : 0.0;
  const float uniform = (float)((double)smoothing / (double)V);
  const float hit = (float)(scaleD * (1.0 - (double)smoothing));
  auto fn = cpuHasAvx512() ? backwardRowsAvx512 : backwardRowsGeneric;
  const int64_t rb = rowBlock(V), nb = (rows + rb - 1) / rb;
#pragma omp parallel for schedule(static) if (rows * V >= kParallelMin && nb > 1)
  for (int64_t b = 0; b < nb; ++b)
    fn(logits, targets, dlogits, dlogits16, b * rb, std::min(rows, (b + 1) * rb), V, count == 0,
       (float)scaleD, uniform, hit, ignoreIndex);
}

//===--- On oneDNN's (log-)softmax --------------------------------------===//
//
// Forward: log p = logsoftmax(x) (oneDNN, in chunks of rows into a scratch
// buffer), loss_row = -(1-s) log p[t] - s mean_c log p[c].
// Backward: p = softmax(x) straight into dlogits (oneDNN), then one pass
// dlogits = scale (p - s/V) - scale (1-s) [c == t], zeros for ignored rows.

float crossEntropyForwardDnnl(const float *logits, const int32_t *targets, int64_t rows,
                              int64_t V, float smoothing, int64_t ignoreIndex) {
  const int64_t count =
      checkTargets("cross_entropy", targets, rows, V, smoothing, ignoreIndex);
  if (count == 0 || V <= 0) return 0.0f;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(rows, (1 << 20) / V));
  thread_local std::vector<float> logp;
  thread_local std::vector<double> rowLoss;
  thread_local std::vector<uint8_t> flags;
  if ((int64_t)logp.size() < chunk * V) logp.resize((size_t)(chunk * V));
  flags.resize((size_t)chunk);
  rowLoss.assign((size_t)rows, 0.0);
  double *rl = rowLoss.data();
  float *lp = logp.data();
  const double s = smoothing;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = std::min(rows, r0 + chunk);
    softmaxForwardDnnl(logits + r0 * V, lp, r1 - r0, V, /*log=*/true);
    if (markSpecialRows(logits + r0 * V, r1 - r0, V, flags.data()))
      fillNaNRows(lp, r1 - r0, V, flags.data());
#pragma omp parallel for schedule(static) if ((r1 - r0) * V >= kParallelMin && r1 - r0 > 1)
    for (int64_t i = r0; i < r1; ++i) {
      if (ignored(targets[i], ignoreIndex)) continue;
      const float *lr = lp + (i - r0) * V;
      double loss = -(1.0 - s) * (double)lr[targets[i]];
      if (s != 0.0) loss -= s * sumBlocked(lr, V) / (double)V;
      rl[i] = loss;
    }
  }
  double total = 0.0;
  for (int64_t i = 0; i < rows; ++i) total += rl[i];
  return (float)(total / (double)count);
}

void crossEntropyBackwardDnnl(const float *logits, const int32_t *targets, float dloss,
                              float *dlogits, int64_t rows, int64_t V, float smoothing,
                              int64_t ignoreIndex) {
  const int64_t count =
      checkTargets("cross_entropy_grad", targets, rows, V, smoothing, ignoreIndex);
  if (rows <= 0 || V <= 0) return;
  if (count == 0) {
    std::fill(dlogits, dlogits + rows * V, 0.0f);
    return;
  }
  softmaxForwardDnnl(logits, dlogits, rows, V, /*log=*/false);
  {
    thread_local std::vector<uint8_t> flags;
    flags.resize((size_t)rows);
    if (markSpecialRows(logits, rows, V, flags.data())) fillNaNRows(dlogits, rows, V, flags.data());
  }
  const float scale = (float)((double)dloss / (double)count);
  const float uniform = (float)((double)smoothing / (double)V);
  const float hit = (float)((double)dloss / (double)count * (1.0 - (double)smoothing));
#pragma omp parallel for schedule(static) if (rows * V >= kParallelMin && rows > 1)
  for (int64_t i = 0; i < rows; ++i) {
    float *orow = dlogits + i * V;
    if (ignored(targets[i], ignoreIndex)) {
      std::fill(orow, orow + V, 0.0f);
      continue;
    }
#pragma omp simd
    for (int64_t c = 0; c < V; ++c) orow[c] = scale * (orow[c] - uniform);
    orow[targets[i]] -= hit;
  }
}

}  // namespace variant

// The loops: 2-2.2x faster than the oneDNN path at [2048, 256] and
// [2048, 4096] (bench/native_kernels.cpp, docs/BENCHMARKS.md).
float crossEntropyForward(const float *logits, const int32_t *targets, int64_t rows, int64_t V,
                          float smoothing, int64_t ignoreIndex) {
  return variant::crossEntropyForwardLoops(logits, targets, rows, V, smoothing, ignoreIndex);
}

void crossEntropyBackward(const float *logits, const int32_t *targets, float dloss,
                          float *dlogits, int64_t rows, int64_t V, float smoothing,
                          int64_t ignoreIndex, uint16_t *dlogits16) {
  variant::crossEntropyBackwardLoops(logits, targets, dloss, dlogits, rows, V, smoothing,
                                     ignoreIndex, dlogits16);
}

}  // namespace heed::rt::native
