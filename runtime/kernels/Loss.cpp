//===- Loss.cpp - cross_entropy and cross_entropy_grad --------------------===//
//
// Per non-ignored position with target t over V classes, lse = logsumexp(x):
//   loss_pos = (1-s) * (lse - x[t]) + s * (lse - mean_c x[c])
//   loss     = sum(loss_pos) / count      (0 if count == 0)
//   dloss/dx[c] = (softmax(x)[c] - (1-s) [c == t] - s / V) / count
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/LogSumExp.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace heed::rt::ref {

using namespace detail;

namespace {

struct Rows {
  int64_t rows, V;
  DType dtype;  // of the logits (f32 or f64)
};

Rows checkLoss(const Tensor &logits, const Tensor &targets, float smoothing, const char *op) {
  const DType dt = expectFloat(logits, op, "logits");
  expectDType(targets, DType::I32, op, "targets");
  if (logits.rank() < 1 || targets.rank() != logits.rank() - 1 ||
      !std::equal(targets.shape().begin(), targets.shape().end(), logits.shape().begin()))
    throw Error(fmt::format("{}: logits {} must be targets {} plus a class dim", op,
                            shapeToString(logits.shape()), shapeToString(targets.shape())));
  if (!(smoothing >= 0.0f && smoothing <= 1.0f))
    throw Error(fmt::format("{}: smoothing {} is outside [0, 1]", op, smoothing));
  return {targets.size(), logits.dim(-1), dt};
}

/// Whether position i counts; throws on a non-ignored target outside [0, V).
bool counted(int32_t t, int64_t i, int64_t V, int64_t ignoreIndex, const Tensor &targets,
             const char *op) {
  if (ignoreIndex != -1 && t == ignoreIndex) return false;
  if (t < 0 || t >= V)
    throw Error(fmt::format("{}: target {} at flat position {} of targets {} is outside [0, {})",
                            op, t, i, shapeToString(targets.shape()), V));
  return true;
}

template <class T>
double crossEntropyTyped(const Tensor &logits, const Tensor &targets, Rows shape, float smoothing,
                         int64_t ignoreIndex, const char *op) {
  const int64_t rows = shape.rows, V = shape.V;
  const T *px = elems<T>(logits);
  const int32_t *pt = targets.i32();
  const double s = smoothing;
  double total = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < rows; ++i) {
    if (!counted(pt[i], i, V, ignoreIndex, targets, op)) continue;
    const T *row = px + i * V;
    const double lse = logSumExp(row, V);
    double loss = (1.0 - s) * (lse - row[pt[i]]);
    if (s != 0.0) {
      double sum = 0.0;
      for (int64_t c = 0; c < V; ++c) sum += row[c];
      loss += s * (lse - sum / (double)V);
    }
    total += loss;
    ++count;
  }
  return count ? total / (double)count : 0.0;
}

template <class T>
void crossEntropyGradTyped(const Tensor &logits, const Tensor &targets, double dloss,
                           int64_t rows, int64_t V, int64_t count, float smoothing,
                           int64_t ignoreIndex, Tensor &out) {
  const T *px = elems<T>(logits);
  const int32_t *pt = targets.i32();
  T *po = elems<T>(out);
  const double s = smoothing;
  const double scale = dloss / (double)count;
  const double uniform = s / (double)V;
  for (int64_t i = 0; i < rows; ++i) {
    if (ignoreIndex != -1 && pt[i] == ignoreIndex) continue;
    const T *row = px + i * V;
    T *orow = po + i * V;
    const double lse = logSumExp(row, V);
    for (int64_t c = 0; c < V; ++c)
      orow[c] = (T)(scale * (std::exp((double)row[c] - lse) - uniform));
    orow[pt[i]] = (T)(scale * (std::exp((double)row[pt[i]] - lse) - uniform - (1.0 - s)));
  }
}

}  // namespace

Tensor crossEntropy(const Tensor &logits, const Tensor &targets, float smoothing,
                    int64_t ignoreIndex) {
  const char *op = "cross_entropy";
  const Rows shape = checkLoss(logits, targets, smoothing, op);
  Tensor out(shape.dtype, {});
  dispatchFloat(shape.dtype, [&](auto tag) {
    using T = decltype(tag);
    elems<T>(out)[0] =
        (T)crossEntropyTyped<T>(logits, targets, shape, smoothing, ignoreIndex, op);
  });
  return out;
}

Tensor crossEntropyGrad(const Tensor &logits, const Tensor &targets, const Tensor &dloss,
                        float smoothing, int64_t ignoreIndex) {
  const char *op = "cross_entropy_grad";
  const Rows shape = checkLoss(logits, targets, smoothing, op);
  const int64_t rows = shape.rows, V = shape.V;
  const DType dt = shape.dtype;
  expectDType(dloss, dt, op, "dloss");
  if (dloss.size() != 1)
    throw Error(fmt::format("{}: dloss must be a scalar, got {}", op,
                            shapeToString(dloss.shape())));
  const int32_t *pt = targets.i32();
  Tensor out(dt, logits.shape());
  int64_t count = 0;
  for (int64_t i = 0; i < rows; ++i)
    if (counted(pt[i], i, V, ignoreIndex, targets, op)) ++count;
  if (count == 0) return out;
  const double d = dt == DType::F64 ? dloss.f64()[0] : (double)dloss.f32()[0];
  dispatchFloat(dt, [&](auto tag) {
    crossEntropyGradTyped<decltype(tag)>(logits, targets, d, rows, V, count, smoothing,
                                         ignoreIndex, out);
  });
  return out;
}

}  // namespace heed::rt::ref
