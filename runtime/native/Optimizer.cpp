//===- Optimizer.cpp - Adam, sum of squares and scale for the update step --===//
//
// The compiled backend's optimizer step (runtime/train/Optimizer.cpp with
// nativeUpdateKernels) runs here: the global gradient norm as one threaded pass
// over every gradient, then Adam as one threaded pass over every parameter,
// gradient and moment, with the clip factor and coupled weight decay folded in
// (no clipped copy of the gradients). Work is cut into fixed chunks of each
// tensor, so a thread count changes which thread runs a chunk, never what it
// computes. The loops are built for AVX-512 and for baseline x86-64; this file
// compiles with -ffp-contract=off, so each float operation rounds as written:
// Adam matches ref::adamUpdate bit for bit on either build (IEEE mul, add, div
// and sqrt are exact-rounded in every width). A parameter with a bf16 shadow
// (bf16 runs) gets it rewritten in the same pass, so the next run's param op
// need not read the weights again to round them.
//
//===----------------------------------------------------------------------===//

#include "runtime/Error.h"
#include "runtime/Precision.h"
#include "runtime/native/Native.h"
#include "runtime/native/VecMath.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace heed::rt::native {

using namespace detail;

namespace {

constexpr int64_t kElemParallelMin = 1 << 16;
constexpr int64_t kAdamChunk = 1 << 13;     // elements per Adam task
constexpr int64_t kSquaresBlock = 1 << 14;  // elements per sum-of-squares block

struct AdamConsts {
  float gradScale, gradDecay, lr, beta1, beta2, eps, bc1, bc2, decay;
};

AdamConsts adamConsts(float gradScale, float gradDecay, float lr, float beta1, float beta2,
                      float eps, float weightDecay, int64_t step) {
  if (step < 1) throw Error(fmt::format("adam: step must be >= 1 (1-based), got {}", step));
  // The same float expressions as ref::adamUpdate, in the same order.
  const float bc1 = (float)(1.0 - std::pow((double)beta1, (double)step));
  const float bc2 = (float)(1.0 - std::pow((double)beta2, (double)step));
  return {gradScale, gradDecay, lr, beta1, beta2, eps, bc1, bc2, 1.0f - lr * weightDecay};
}

/// Adam on [i0, i1) of one tensor. The gradient is rounded as applyUpdate's copy
/// (g * scale, then + decay * p), then the update as ref::adamUpdate.
template <bool Scale, bool Decay, bool Shadow>
HEED_AI void adamRange(const AdamBuffers &t, int64_t i0, int64_t i1, const AdamConsts &c) {
  float *__restrict p = t.param, *__restrict m = t.m, *__restrict v = t.v;
  const float *__restrict g = t.grad;
  uint16_t *__restrict sh = t.shadow;
#pragma omp simd
  for (int64_t i = i0; i < i1; ++i) {
    float gi = g[i];
    if (Scale) gi = gi * c.gradScale;
    if (Decay) gi = gi + c.gradDecay * p[i];
    const float mi = c.beta1 * m[i] + (1.0f - c.beta1) * gi;
    const float vi = c.beta2 * v[i] + (1.0f - c.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi / c.bc1;
    const float vhat = vi / c.bc2;
    const float pi = p[i] * c.decay - c.lr * mhat / (std::sqrt(vhat) + c.eps);
    p[i] = pi;
    if (Shadow) sh[i] = toBf16Bits(pi);
  }
}

template <bool Shadow>
HEED_AI void adamChunkWith(const AdamBuffers &t, int64_t i0, int64_t i1, const AdamConsts &c) {
  const bool scale = c.gradScale != 1.0f, decay = c.gradDecay != 0.0f;
  if (scale && decay) adamRange<true, true, Shadow>(t, i0, i1, c);
  else if (scale) adamRange<true, false, Shadow>(t, i0, i1, c);
  else if (decay) adamRange<false, true, Shadow>(t, i0, i1, c);
  else adamRange<false, false, Shadow>(t, i0, i1, c);
}

HEED_AI void adamChunk(const AdamBuffers &t, int64_t i0, int64_t i1, const AdamConsts &c) {
  if (t.shadow) adamChunkWith<true>(t, i0, i1, c);
  else adamChunkWith<false>(t, i0, i1, c);
}

HEED_AVX512 void adamChunkAvx512(const AdamBuffers &t, int64_t i0, int64_t i1,
                                 const AdamConsts &c) {
  adamChunk(t, i0, i1, c);
}
void adamChunkGeneric(const AdamBuffers &t, int64_t i0, int64_t i1, const AdamConsts &c) {
  adamChunk(t, i0, i1, c);
}

/// sum of x[i0, i1)^2: float SIMD partial sums over 256 elements, added in double.
HEED_AI double squaresBlock(const float *x, int64_t i0, int64_t i1) {
  double total = 0.0;
  for (int64_t j0 = i0; j0 < i1; j0 += 256) {
    const int64_t e = std::min(i1, j0 + 256);
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = j0; i < e; ++i) s += x[i] * x[i];
    total += s;
  }
  return total;
}
HEED_AVX512 double squaresBlockAvx512(const float *x, int64_t i0, int64_t i1) {
  return squaresBlock(x, i0, i1);
}
double squaresBlockGeneric(const float *x, int64_t i0, int64_t i1) {
  return squaresBlock(x, i0, i1);
}

/// A fixed piece of one tensor: [i0, i1) of tensor `tensor`.
struct Chunk {
  int64_t tensor, i0, i1;
};

/// Cuts each of `count` tensors of sizes n(i) into pieces of `size` elements.
template <class N>
const std::vector<Chunk> &chunksOf(int64_t count, N n, int64_t size, int64_t &total) {
  thread_local std::vector<Chunk> chunks;
  chunks.clear();
  total = 0;
  for (int64_t t = 0; t < count; ++t) {
    const int64_t len = n(t);
    total += len;
    for (int64_t i0 = 0; i0 < len; i0 += size) chunks.push_back({t, i0, std::min(len, i0 + size)});
  }
  return chunks;
}

}  // namespace

void adam(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
          float beta2, float eps, float weightDecay, int64_t step) {
  const AdamBuffers t{param, m, v, grad, n};
  adamAll(&t, 1, 1.0f, 0.0f, lr, beta1, beta2, eps, weightDecay, step);
}

void adamAll(const AdamBuffers *t, int64_t count, float gradScale, float gradDecay, float lr,
             float beta1, float beta2, float eps, float weightDecay, int64_t step) {
  const AdamConsts c =
      adamConsts(gradScale, gradDecay, lr, beta1, beta2, eps, weightDecay, step);
  int64_t total;
  const std::vector<Chunk> &chunks =
      chunksOf(count, [&](int64_t i) { return t[i].n; }, kAdamChunk, total);
  auto fn = cpuHasAvx512() ? adamChunkAvx512 : adamChunkGeneric;
  const int64_t nc = (int64_t)chunks.size();
#pragma omp parallel for schedule(dynamic, 1) if (total >= kElemParallelMin && nc > 1)
  for (int64_t k = 0; k < nc; ++k) fn(t[chunks[k].tensor], chunks[k].i0, chunks[k].i1, c);
}

double sumSquares(const float *x, int64_t n) { return sumSquaresAll(&x, &n, 1); }

double sumSquaresAll(const float *const *x, const int64_t *n, int64_t count) {
  int64_t total;
  const std::vector<Chunk> &chunks =
      chunksOf(count, [&](int64_t i) { return std::max<int64_t>(n[i], 0); }, kSquaresBlock, total);
  const int64_t nc = (int64_t)chunks.size();
  thread_local std::vector<double> partial;
  partial.resize((size_t)nc);
  double *part = partial.data();
  auto fn = cpuHasAvx512() ? squaresBlockAvx512 : squaresBlockGeneric;
#pragma omp parallel for schedule(dynamic, 1) if (total >= kElemParallelMin && nc > 1)
  for (int64_t k = 0; k < nc; ++k) part[k] = fn(x[chunks[k].tensor], chunks[k].i0, chunks[k].i1);
  // Blocks in order within a tensor, then tensors in order.
  double s = 0.0;
  for (int64_t k = 0; k < nc;) {
    double tensorSum = 0.0;
    const int64_t tensor = chunks[k].tensor;
    for (; k < nc && chunks[k].tensor == tensor; ++k) tensorSum += part[k];
    s += tensorSum;
  }
  return s;
}

void scale(float *x, int64_t n, float factor) {
#pragma omp parallel for simd schedule(static) if (n >= kElemParallelMin)
  for (int64_t i = 0; i < n; ++i) x[i] *= factor;
}

}  // namespace heed::rt::native
