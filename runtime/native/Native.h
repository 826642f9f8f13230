//===- Native.h - fast f32 kernels for the compiled backend ------*- C++ -*-===//
//
// The fast counterparts of the reference kernels (runtime/kernels/Reference.h),
// for the compiled backend. Conventions:
//   * f32 only, raw pointers + sizes, row-major contiguous unless a stride says
//     otherwise; destination-passing: the caller owns every buffer (an arena).
//   * Outputs must not alias inputs unless a function says it may.
//   * Results match the reference kernels up to float rounding (normwise
//     relative error <= 1e-5); dropout, gather and scatterAdd match bit for bit.
//   * Threaded with OpenMP (GNU libgomp, the runtime oneDNN uses). matmul,
//     softmax and gelu run on oneDNN primitives (JIT, dispatched at run time
//     to the CPU's ISA), cached per thread by shape and thread count; the rest
//     are OpenMP loops compiled for baseline x86-64, and fused attention,
//     layer norm, cross entropy, dropout and the optimizer loops also for AVX-512,
//     chosen at run time (VecMath.h's HEED_AVX512).
//     runtime/native/Variants.h has the loop/oneDNN alternatives the bench compares.
//   * Reductions that the callers see (cross-entropy loss, sumSquares, the
//     layer-norm parameter gradients) use fixed partitions: the same result for
//     any thread count. oneDNN's are deterministic for a given thread count.
//   * Invalid ids/targets throw heed::rt::Error (checked before any thread starts).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/train/Optimizer.h"  // AdamBuffers

#include <cstdint>

namespace heed::rt::native {

/// Number of threads the native kernels (and oneDNN) use from now on, on the
/// calling thread; n <= 0 restores the OpenMP default.
void setThreads(int n);
/// The number of threads the next kernel will use.
int numThreads();

//===--- Matmul -----------------------------------------------------------===//

enum class Act : uint8_t { None, Relu, Gelu /* exact erf form */ };

/// For each batch index i in [0, batch):
///   C_i = act(op(A_i) @ op(B_i) + bias)            (accumulate == false)
///   C_i = C_i + act(op(A_i) @ op(B_i) + bias)      (accumulate == true)
/// op(A_i) is [M, K]: A_i is stored [M, K] row-major, or [K, M] if transA.
/// op(B_i) is [K, N]: B_i is stored [K, N] row-major, or [N, K] if transB.
/// A_i = a + i * batchStrideA (0 broadcasts one matrix over the batch), likewise B_i.
/// C is [batch, M, N] contiguous. bias is nullable, [N], added to every row.
void matmul(const float *a, const float *b, float *c, int64_t batch, int64_t M, int64_t N,
            int64_t K, bool transA, bool transB, const float *bias, Act act, bool accumulate,
            int64_t batchStrideA, int64_t batchStrideB);

/// Convenience: contiguous batches (batch strides M*K and K*N).
inline void matmul(const float *a, const float *b, float *c, int64_t batch, int64_t M,
                   int64_t N, int64_t K, bool transA = false, bool transB = false,
                   const float *bias = nullptr, Act act = Act::None, bool accumulate = false) {
  matmul(a, b, c, batch, M, N, K, transA, transB, bias, act, accumulate, M * K, K * N);
}

/// Drop every cached matmul primitive of the calling thread.
void clearMatmulCache();

//===--- Layer norm (last axis, biased variance) --------------------------===//

/// y = (x - mean) * rstd * gamma + beta per row of x[rows, dim].
/// mean_out / rstd_out ([rows], nullable) receive the row statistics (f32: the
/// error relative to the reference grows like ulp(mean) / std, ~1e-4 at mean
/// 1000 with std 0.6; ~1e-6 for ordinary activations). y16 (nullable) also
/// receives y rounded to bf16 (rt::toBf16Bits), written in the same pass; with
/// y null it is the only output (nothing reads the float32 values).
void layerNormForward(const float *x, const float *gamma, const float *beta, float *y,
                      float *mean_out, float *rstd_out, int64_t rows, int64_t dim, float eps,
                      uint16_t *y16 = nullptr);
/// dx[rows, dim], dgamma[dim], dbeta[dim] (overwritten; dgamma/dbeta nullable).
/// mean/rstd are the forward's statistics, or null to recompute them from x.
/// With `residual` ([rows, dim]), dx = residual + the input gradient, rounded as the
/// two ops separately (the gradient sum that follows layer norm's backward). dx16
/// (nullable) also receives dx rounded to bf16 (rt::toBf16Bits), in the same pass.
void layerNormBackward(const float *x, const float *gamma, const float *mean, const float *rstd,
                       const float *dy, float *dx, float *dgamma, float *dbeta, int64_t rows,
                       int64_t dim, float eps, const float *residual = nullptr, uint16_t *dx16 = nullptr);

//===--- Softmax (last axis) ----------------------------------------------===//

/// y may alias x. Rows holding NaN or +inf, or only -inf, come out all NaN (as
/// the reference / PyTorch).
void softmaxForward(const float *x, float *y, int64_t rows, int64_t n);
/// dx = y * (dy - sum(dy * y)); dx may alias dy.
void softmaxBackward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n);
/// y = x - logsumexp(x); y may alias x.
void logSoftmaxForward(const float *x, float *y, int64_t rows, int64_t n);
/// dx = dy - exp(y) * sum(dy); dx may alias dy.
void logSoftmaxBackward(const float *y, const float *dy, float *dx, int64_t rows, int64_t n);

//===--- Fused attention (the sdpa op) ------------------------------------===//

/// q[B, H, Tq, dh], k and v [B, H, Tk, dh], out like q, lse [B, H, Tq], all
/// contiguous; with tokenMajor q, k, v and out (and the gradients) are
/// [B, T, H, dh] (rows of one head H * dh apart), lse unchanged. Scores scale * q_i . k_j; key j is masked for query i when
/// keyPadding[b, j] (nullable, [B, Tk], 1 = padding) or, with causal, when
/// j > i + Tk - Tq. As ref::sdpa: masked keys get probability 0 unless every
/// key of the row is masked, which then averages all of v (lse = -1e9 + log Tk).
struct AttentionShape {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, dh = 0;
  bool causal = false;
  float scale = 1.0f;
  bool tokenMajor = false;
  /// The products in bf16 with float32 sums (AVX512_BF16 only; which values
  /// are rounded: ref::sdpa's bf16, docs/PRECISION.md).
  bool bf16 = false;
};
/// One task per (batch, head, block of 32 queries); each output element is
/// written by one task in a fixed order: bit-identical for any thread count.
void attentionForward(const AttentionShape &s, const float *q, const float *k, const float *v,
                      const uint8_t *keyPadding, float *out, float *lse);
/// dq, dk, dv from the forward's out and lse and dout (dlse nullable: the
/// gradient of lse). Recomputes the probabilities block by block; one task
/// per (batch, head), so dk and dv accumulate in a fixed order.
void attentionBackward(const AttentionShape &s, const float *q, const float *k, const float *v,
                       const uint8_t *keyPadding, const float *out, const float *lse,
                       const float *dout, const float *dlse, float *dq, float *dk, float *dv);

//===--- Cross entropy ----------------------------------------------------===//

/// logits[rows, V], targets[rows]; PyTorch semantics as ref::crossEntropy:
/// mean over non-ignored rows of (1-s)(lse - x[t]) + s(lse - mean_c x[c]);
/// 0 if all are ignored; ignoreIndex == -1 ignores none. Bad targets throw.
float crossEntropyForward(const float *logits, const int32_t *targets, int64_t rows, int64_t V,
                          float smoothing, int64_t ignoreIndex);
/// dlogits[rows, V] = dloss * d loss / d logits (ignored rows get zeros).
/// dlogits16 (nullable) also receives them rounded to bf16, in the same pass;
/// with dlogits null it is the only output (nothing reads the float32 values).
void crossEntropyBackward(const float *logits, const int32_t *targets, float dloss,
                          float *dlogits, int64_t rows, int64_t V, float smoothing,
                          int64_t ignoreIndex, uint16_t *dlogits16 = nullptr);

//===--- Embeddings -------------------------------------------------------===//

/// out[i, :] = table[ids[i], :] for i < n; table[V, D]. Ids outside [0, V) throw.
void gather(const float *table, const int32_t *ids, float *out, int64_t n, int64_t V, int64_t D);
/// out[V, D] = 0, then out[ids[i], :] += dy[i, :] in increasing i (bit-exact with
/// the reference, for any thread count). Ids outside [0, V) throw.
void scatterAdd(const float *dy, const int32_t *ids, float *out, int64_t n, int64_t V, int64_t D);

//===--- Dropout ----------------------------------------------------------===//

/// y[i] = uniform01(seed, step, i) >= p ? x[i] * (1 / (1 - p)) : 0 (as ref::dropout,
/// bit for bit, with the same indexOffset added to i). p outside [0, 1] throws. y may alias x.
/// With `residual`, y[i] = residual[i] + dropout(x)[i] in the same pass (rounded as the
/// two ops separately); y may alias x or residual.
void dropout(const float *x, float *y, int64_t n, float p, uint64_t seed, uint64_t step,
             uint64_t indexOffset = 0, const float *residual = nullptr);

//===--- Optimizer --------------------------------------------------------===//

/// One Adam/AdamW step in place, as ref::adamUpdate (step is 1-based).
void adam(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
          float beta2, float eps, float weightDecay, int64_t step);
/// adam over count tensors in one threaded pass (fixed chunks of each tensor),
/// with the gradient g * gradScale + gradDecay * param as UpdateKernels::adamAll
/// describes. Bit for bit ref::adamUpdate on that gradient, for any thread count.
void adamAll(const AdamBuffers *t, int64_t count, float gradScale, float gradDecay, float lr,
             float beta1, float beta2, float eps, float weightDecay, int64_t step);
/// sum of x[i]^2 (float partial sums over fixed blocks, added in double): the
/// same result for any thread count.
double sumSquares(const float *x, int64_t n);
/// sum over i in order of sumSquares(x[i], n[i]), in one threaded pass.
double sumSquaresAll(const float *const *x, const int64_t *n, int64_t count);
/// x *= factor, in place.
void scale(float *x, int64_t n, float factor);

//===--- GELU (exact erf form) --------------------------------------------===//

/// y = 0.5 x (1 + erf(x / sqrt 2)); y may alias x.
void geluForward(const float *x, float *y, int64_t n);
/// dx = dy * (Phi(x) + x phi(x)); dx may alias dy.
void geluBackward(const float *x, const float *dy, float *dx, int64_t n);

}  // namespace heed::rt::native
