//===- Loss.cpp - cross_entropy and cross_entropy_grad --------------------===//
//
// Per non-ignored position with target t over V classes, lse = logsumexp(x):
//   loss_pos = (1-s) * (lse - x[t]) + s * (lse - mean_c x[c])
//   loss     = sum(loss_pos) / count      (0 if count == 0)
//   dloss/dx[c] = (softmax(x)[c] - (1-s) [c == t] - s / V) / count
//
//===----------------------------------------------------------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace heed::rt::ref {

using namespace detail;

namespace {

struct Rows {
  int64_t rows, V;
};

Rows checkLoss(const Tensor &logits, const Tensor &targets, float smoothing, const char *op) {
  expectDType(logits, DType::F32, op, "logits");
  expectDType(targets, DType::I32, op, "targets");
  if (logits.rank() < 1 || targets.rank() != logits.rank() - 1 ||
      !std::equal(targets.shape().begin(), targets.shape().end(), logits.shape().begin()))
    throw Error(fmt::format("{}: logits {} must be targets {} plus a class dim", op,
                            shapeToString(logits.shape()), shapeToString(targets.shape())));
  if (!(smoothing >= 0.0f && smoothing <= 1.0f))
    throw Error(fmt::format("{}: smoothing {} is outside [0, 1]", op, smoothing));
  return {targets.size(), logits.dim(-1)};
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

/// max and logsumexp of a row, in double.
double logSumExp(const float *row, int64_t V, double &mx) {
  float m = -INFINITY;
  for (int64_t c = 0; c < V; ++c) m = std::max(m, row[c]);
  double s = 0.0;
  for (int64_t c = 0; c < V; ++c) s += std::exp((double)row[c] - m);
  mx = m;
  return m + std::log(s);
}

}  // namespace

Tensor crossEntropy(const Tensor &logits, const Tensor &targets, float smoothing,
                    int64_t ignoreIndex) {
  const char *op = "cross_entropy";
  auto [rows, V] = checkLoss(logits, targets, smoothing, op);
  const float *px = logits.f32();
  const int32_t *pt = targets.i32();
  const double s = smoothing;
  double total = 0.0;
  int64_t count = 0;
  for (int64_t i = 0; i < rows; ++i) {
    if (!counted(pt[i], i, V, ignoreIndex, targets, op)) continue;
    const float *row = px + i * V;
    double mx;
    const double lse = logSumExp(row, V, mx);
    double loss = (1.0 - s) * (lse - row[pt[i]]);
    if (s != 0.0) {
      double sum = 0.0;
      for (int64_t c = 0; c < V; ++c) sum += row[c];
      loss += s * (lse - sum / (double)V);
    }
    total += loss;
    ++count;
  }
  return Tensor::scalarF32(count ? (float)(total / (double)count) : 0.0f);
}

Tensor crossEntropyGrad(const Tensor &logits, const Tensor &targets, const Tensor &dloss,
                        float smoothing, int64_t ignoreIndex) {
  const char *op = "cross_entropy_grad";
  auto [rows, V] = checkLoss(logits, targets, smoothing, op);
  expectDType(dloss, DType::F32, op, "dloss");
  if (dloss.size() != 1)
    throw Error(fmt::format("{}: dloss must be a scalar, got {}", op,
                            shapeToString(dloss.shape())));
  const float *px = logits.f32();
  const int32_t *pt = targets.i32();
  Tensor out(DType::F32, logits.shape());
  float *po = out.f32();
  int64_t count = 0;
  for (int64_t i = 0; i < rows; ++i)
    if (counted(pt[i], i, V, ignoreIndex, targets, op)) ++count;
  if (count == 0) return out;
  const double s = smoothing;
  const double scale = (double)dloss.f32()[0] / (double)count;
  const double uniform = s / (double)V;
  for (int64_t i = 0; i < rows; ++i) {
    if (ignoreIndex != -1 && pt[i] == ignoreIndex) continue;
    const float *row = px + i * V;
    float *orow = po + i * V;
    double mx;
    const double lse = logSumExp(row, V, mx);
    for (int64_t c = 0; c < V; ++c)
      orow[c] = (float)(scale * (std::exp((double)row[c] - lse) - uniform));
    orow[pt[i]] = (float)(scale * (std::exp((double)row[pt[i]] - lse) - uniform - (1.0 - s)));
  }
  return out;
}

}  // namespace heed::rt::ref
