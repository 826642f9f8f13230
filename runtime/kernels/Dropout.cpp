//===- Dropout.cpp - counter-based dropout --------------------------------===//

#include "runtime/Random.h"
#include "runtime/kernels/Broadcast.h"
#include "runtime/kernels/Reference.h"

#include <fmt/format.h>

namespace heed::rt::ref {

using namespace detail;

namespace {

/// The scale is computed in T from the (f32) p: 1 / (1 - p).
template <class T>
void dropoutTyped(const Tensor &x, float p, uint64_t seed, uint64_t step, uint64_t off, Tensor &out) {
  const T scale = T(1) / (T(1) - (T)p);
  const T *px = elems<T>(x);
  T *po = elems<T>(out);
  for (int64_t i = 0, n = x.size(); i < n; ++i)
    if (uniform01(seed, step, (uint64_t)i + off) >= p) po[i] = px[i] * scale;
}

}  // namespace

Tensor dropout(const Tensor &x, float p, uint64_t seed, uint64_t step, uint64_t indexOffset) {
  const DType dt = expectFloat(x, "dropout", "x");
  if (!(p >= 0.0f && p <= 1.0f))
    throw Error(fmt::format("dropout: p = {} is outside [0, 1]", p));
  if (p == 0.0f) return x.clone();
  Tensor out(dt, x.shape());  // zero-filled
  if (p == 1.0f) return out;
  dispatchFloat(dt, [&](auto tag) { dropoutTyped<decltype(tag)>(x, p, seed, step, indexOffset, out); });
  return out;
}

}  // namespace heed::rt::ref
