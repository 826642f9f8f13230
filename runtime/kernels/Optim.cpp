//===- Optim.cpp - Adam/AdamW, SGD, global norm ---------------------------===//

#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

#include <cmath>

namespace heed::rt::ref {

using namespace detail;

namespace {
void expectSameShape(const Tensor &a, const Tensor &b, const char *op, const char *an,
                     const char *bn) {
  if (a.shape() != b.shape())
    throw Error(fmt::format("{}: {} {} and {} {} differ in shape", op, an,
                            shapeToString(a.shape()), bn, shapeToString(b.shape())));
}
}  // namespace

void adamUpdate(Tensor &param, Tensor &m, Tensor &v, const Tensor &grad, float lr, float beta1,
                float beta2, float eps, float weightDecay, int64_t step) {
  const char *op = "adam";
  expectDType(param, DType::F32, op, "param");
  expectDType(m, DType::F32, op, "m");
  expectDType(v, DType::F32, op, "v");
  expectDType(grad, DType::F32, op, "grad");
  expectSameShape(param, grad, op, "param", "grad");
  expectSameShape(m, grad, op, "m", "grad");
  expectSameShape(v, grad, op, "v", "grad");
  if (step < 1) throw Error(fmt::format("adam: step must be >= 1 (1-based), got {}", step));
  const float bc1 = (float)(1.0 - std::pow((double)beta1, (double)step));
  const float bc2 = (float)(1.0 - std::pow((double)beta2, (double)step));
  const float decay = 1.0f - lr * weightDecay;
  float *p = param.f32(), *pm = m.f32(), *pv = v.f32();
  const float *g = grad.f32();
  for (int64_t i = 0, n = grad.size(); i < n; ++i) {
    const float gi = g[i];
    const float mi = beta1 * pm[i] + (1.0f - beta1) * gi;
    const float vi = beta2 * pv[i] + (1.0f - beta2) * gi * gi;
    pm[i] = mi;
    pv[i] = vi;
    const float mhat = mi / bc1;
    const float vhat = vi / bc2;
    p[i] = p[i] * decay - lr * mhat / (std::sqrt(vhat) + eps);
  }
}

void sgdUpdate(Tensor &param, const Tensor &grad, float lr) {
  expectDType(param, DType::F32, "sgd", "param");
  expectDType(grad, DType::F32, "sgd", "grad");
  expectSameShape(param, grad, "sgd", "param", "grad");
  float *p = param.f32();
  const float *g = grad.f32();
  for (int64_t i = 0, n = grad.size(); i < n; ++i) p[i] -= lr * g[i];
}

float globalNorm(const std::vector<const Tensor *> &tensors) {
  double s = 0.0;
  for (const Tensor *t : tensors) {
    if (!t) throw Error("global_norm: null tensor");
    expectDType(*t, DType::F32, "global_norm", "tensor");
    const float *p = t->f32();
    for (int64_t i = 0, n = t->size(); i < n; ++i) s += (double)p[i] * p[i];
  }
  return (float)std::sqrt(s);
}

void scaleInPlace(Tensor &x, float factor) {
  expectDType(x, DType::F32, "scale", "x");
  float *p = x.f32();
  for (int64_t i = 0, n = x.size(); i < n; ++i) p[i] *= factor;
}

}  // namespace heed::rt::ref
