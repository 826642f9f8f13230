//===- Dropout.cpp - counter-based dropout --------------------------------===//

#include "runtime/Random.h"
#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

namespace heed::rt::ref {

using namespace detail;

Tensor dropout(const Tensor &x, float p, uint64_t seed, uint64_t step) {
  expectDType(x, DType::F32, "dropout", "x");
  if (!(p >= 0.0f && p <= 1.0f))
    throw Error(fmt::format("dropout: p = {} is outside [0, 1]", p));
  if (p == 0.0f) return x.clone();
  Tensor out(DType::F32, x.shape());  // zero-filled
  if (p == 1.0f) return out;
  const float scale = 1.0f / (1.0f - p);
  const float *px = x.f32();
  float *po = out.f32();
  for (int64_t i = 0, n = x.size(); i < n; ++i)
    if (uniform01(seed, step, (uint64_t)i) >= p) po[i] = px[i] * scale;
  return out;
}

}  // namespace heed::rt::ref
