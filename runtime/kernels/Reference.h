//===- Reference.h - reference kernels, one per op --------------*- C++ -*-===//
//
// Plain-loop implementations of every op in the op table (docs/ARCHITECTURE.md),
// forward and the fused backward ops. Used by the interpreter and as the oracle
// for faster backends.
//
// Conventions:
//   * Kernels never write into their inputs; every result is a fresh tensor,
//     except reshape(), which returns a view sharing the input's storage (like
//     Tensor::reshaped). Only the optimizer updates (adamUpdate, sgdUpdate,
//     scaleInPlace) mutate, and only the tensors passed by non-const reference.
//   * Float tensors are f32 or f64; ids are i32; masks are Bool (one byte, 0/1).
//     Every float kernel except the optimizer ones (adamUpdate, sgdUpdate,
//     globalNorm, scaleInPlace: f32 only) accepts f32 or f64; its float result
//     has the dtype of its float operands, which must all agree (mixing f32 and
//     f64 throws Error naming the op). f64 exists for finite-difference gradient
//     checks. Scalar attributes (eps, p, smoothing) stay float.
//   * The f64 kernels run the same loops as the f32 ones with double elements;
//     where an f32 kernel accumulates in double, so does the f64 one.
//   * Broadcasting is numpy's: align trailing dims; a dim of 1 stretches.
//   * Axes may be negative (counted from the end).
//   * Sums in reductions, sum_to, softmax, layer_norm and cross_entropy are
//     accumulated in double.
//   * Invalid arguments throw heed::rt::Error naming the op and the shapes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Error.h"
#include "runtime/Tensor.h"

#include <cstdint>
#include <vector>

namespace heed::rt::ref {

//===--- Shapes -----------------------------------------------------------===//

/// numpy broadcast of two shapes; throws Error naming `op` if incompatible.
Shape broadcastShapes(const Shape &a, const Shape &b, const char *op = "broadcast");

//===--- Elementwise ------------------------------------------------------===//

enum class BinaryKind { Add, Sub, Mul, Div };
enum class CompareKind { Eq, Ne, Lt, Le, Gt, Ge };
enum class UnaryKind { Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Relu, Gelu };

/// a op b with broadcasting. f32 x f32 -> f32, f64 x f64 -> f64, or i32 x i32 -> i32 (Div truncates
/// toward zero; integer division by zero throws).
Tensor binary(BinaryKind kind, const Tensor &a, const Tensor &b);
/// a cmp b with broadcasting -> Bool. Operands have the same dtype (f32, f64, i32 or bool).
Tensor compare(CompareKind kind, const Tensor &a, const Tensor &b);
/// cond ? a : b, all three broadcast. cond is Bool; a and b have the same dtype (f32, f64 or i32).
Tensor where(const Tensor &cond, const Tensor &a, const Tensor &b);
/// Elementwise on f32 or f64 (Neg also accepts i32). Gelu is the exact erf form 0.5x(1+erf(x/sqrt2)).
Tensor unary(UnaryKind kind, const Tensor &x);
/// dy * gelu'(x), gelu'(x) = Phi(x) + x phi(x). x and dy have the same shape.
Tensor geluGrad(const Tensor &x, const Tensor &dy);

//===--- Matmul -----------------------------------------------------------===//

/// a[..., M, K] @ b[..., K, N] -> [..., M, N]; both rank >= 2; batch dims broadcast.
Tensor matmul(const Tensor &a, const Tensor &b);
/// matmul at bf16 precision (runtime/Precision.h): f32 inputs rounded to bfloat16
/// (nearest even) first, products summed in f32. f64 inputs are not rounded
/// (gradient checks stay float64).
Tensor matmulBf16(const Tensor &a, const Tensor &b);
/// x with every f32 element rounded to bfloat16 (a copy; f64 and ints unchanged).
Tensor roundToBf16(const Tensor &x);

//===--- Shape ops (any dtype) --------------------------------------------===//

/// Result dim i = x dim perm[i]. perm must be a permutation of [0, rank).
Tensor transpose(const Tensor &x, const std::vector<int64_t> &perm);
/// Same element count, row-major. Returns a view sharing x's storage.
Tensor reshape(const Tensor &x, const Shape &shape);
/// numpy broadcast_to.
Tensor broadcastTo(const Tensor &x, const Shape &shape);
/// The gradient of broadcastTo: sums x over the dims that broadcasting `shape` to
/// x.shape() added or stretched. f32 or f64. `shape` must broadcast to x.shape().
Tensor sumTo(const Tensor &x, const Shape &shape);

//===--- Reductions -------------------------------------------------------===//

enum class ReduceKind { Sum, Mean, Max };

/// Reduce f32/f64 x over one axis. Mean and Max of an empty axis throw. Max propagates NaN.
Tensor reduce(ReduceKind kind, const Tensor &x, int64_t axis, bool keepdim);

//===--- Softmax ----------------------------------------------------------===//

/// Numerically stable (subtracts the max along the axis). A row that is entirely
/// -inf gives NaN, as in PyTorch.
Tensor softmax(const Tensor &x, int64_t axis);
Tensor logSoftmax(const Tensor &x, int64_t axis);

//===--- Attention --------------------------------------------------------===//

/// Fused scaled dot-product attention (the sdpa op). q[B, H, Tq, dh], k and v
/// [B, H, Tk, dh], keyPadding (nullable) Bool [B, Tk], true = padding. Scores
/// s[i, j] = scale * q_i . k_j; a masked key (padding, or with `causal`
/// j > i + Tk - Tq) has its score replaced by -1e9, so a row with every key
/// masked averages all of v. out[B, H, Tq, dh] = softmax(s) v, lse[B, H, Tq] =
/// log sum_j exp(s[i, j]). f32 or f64; sums in double. Tk == 0 throws. With
/// tokenMajor, q, k, v and out (and sdpaGrad's dout, dq, dk, dv) are [B, T, H, dh].
/// With bf16 (f32 only) the products' operands are rounded to bf16 as the
/// native kernel's (runtime/kernels/Attention.cpp says which).
struct SdpaResult {
  Tensor out;
  Tensor lse;
};
SdpaResult sdpa(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor *keyPadding,
                bool causal, float scale, bool tokenMajor = false, bool bf16 = false);
/// The backward of sdpa given dout (and the nullable gradient of lse, dlse): the
/// probabilities are recomputed from q and k.
struct SdpaGrads {
  Tensor dq, dk, dv;
};
SdpaGrads sdpaGrad(const Tensor &q, const Tensor &k, const Tensor &v, const Tensor &dout,
                   const Tensor *dlse, const Tensor *keyPadding, bool causal, float scale,
                   bool tokenMajor = false, bool bf16 = false);

//===--- Embeddings -------------------------------------------------------===//

/// table[V, D] (f32 or f64), ids[...] (i32) -> [..., D] of the table's dtype. Ids outside [0, V) throw.
Tensor gather(const Tensor &table, const Tensor &ids);
/// The gradient of gather: dy[..., D], ids[...] -> out[rows, D], out[ids[i]] += dy[i].
Tensor scatterAdd(const Tensor &dy, const Tensor &ids, int64_t rows);
/// [len, dim]: PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos(same).
/// Computed in double and stored as `dtype` (f32 or f64).
Tensor sinusoidal(int64_t len, int64_t dim, DType dtype = DType::F32);

//===--- Dropout ----------------------------------------------------------===//

/// Keeps element i iff uniform01(seed, step, i) >= p, scaling kept ones by 1/(1-p).
/// p == 0 -> copy; p == 1 -> zeros; p outside [0, 1] throws. The mask depends only
/// on (seed, step, flat index), so the backward pass is dropout(dy, p, seed, step).
/// The mask does not depend on x's dtype (f32 or f64). `indexOffset` is added to
/// every flat index: a slice of a batch (micro-batches, data-parallel ranks) passes
/// the flat index of its first element in the whole batch (RunContext::dropoutIndexOffset).
Tensor dropout(const Tensor &x, float p, uint64_t seed, uint64_t step, uint64_t indexOffset = 0);

//===--- Layer norm -------------------------------------------------------===//

/// Over the last axis, biased variance: (x - mean) / sqrt(var + eps) * gamma + beta.
Tensor layerNorm(const Tensor &x, const Tensor &gamma, const Tensor &beta, float eps);

struct LayerNormGrads {
  Tensor dx;      // same shape as x
  Tensor dgamma;  // [D]
  Tensor dbeta;   // [D]
};
LayerNormGrads layerNormGrad(const Tensor &x, const Tensor &gamma, const Tensor &dy, float eps);

//===--- Loss -------------------------------------------------------------===//

/// logits[..., V] (f32 or f64), targets[...] (i32) -> scalar (shape []) of the logits' dtype.
/// Mean over non-ignored positions of (1-s) * -log p[t] + s * mean_c(-log p[c]);
/// 0 if every position is ignored. ignoreIndex == -1 means none is ignored;
/// otherwise positions whose target equals ignoreIndex are skipped. Other targets
/// outside [0, V) throw.
Tensor crossEntropy(const Tensor &logits, const Tensor &targets, float smoothing,
                    int64_t ignoreIndex);
/// d crossEntropy / d logits, times the scalar dloss (any shape with one element,
/// same dtype as logits).
Tensor crossEntropyGrad(const Tensor &logits, const Tensor &targets, const Tensor &dloss,
                        float smoothing, int64_t ignoreIndex);

//===--- Optimizers (in place) --------------------------------------------===//

/// One Adam/AdamW step, in place on param, m, v (all f32, same shape as grad):
///   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
///   param -= lr * weightDecay * param            (decoupled weight decay, AdamW)
///   param -= lr * (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps)
/// step is 1-based. weightDecay == 0 gives plain Adam.
void adamUpdate(Tensor &param, Tensor &m, Tensor &v, const Tensor &grad, float lr, float beta1,
                float beta2, float eps, float weightDecay, int64_t step);
/// param -= lr * grad.
void sgdUpdate(Tensor &param, const Tensor &grad, float lr);
/// sqrt of the sum of squares of every element of every (f32) tensor; for clipping.
float globalNorm(const std::vector<const Tensor *> &tensors);
/// x *= factor, in place (f32); e.g. gradient clipping by globalNorm.
void scaleInPlace(Tensor &x, float factor);

}  // namespace heed::rt::ref
