//===- MatmulBf16.cpp - the reference matmul at bf16 precision ------------===//
//
// The oracle of the compiled backend's bf16 matmul (runtime/native/Bf16.h):
// the same round-to-nearest-even of both inputs, then the float32 reference
// matmul of the rounded values.
//
//===----------------------------------------------------------------------===//

#include "runtime/Precision.h"
#include "runtime/kernels/Reference.h"

namespace heed::rt::ref {

Tensor roundToBf16(const Tensor &x) {
  if (x.dtype() != DType::F32) return x;
  Tensor y = Tensor::uninitialized(DType::F32, x.shape());
  const float *px = x.f32();
  float *py = y.f32();
  for (int64_t i = 0, n = x.size(); i < n; ++i) py[i] = rt::roundToBf16(px[i]);
  return y;
}

Tensor matmulBf16(const Tensor &a, const Tensor &b) { return matmul(roundToBf16(a), roundToBf16(b)); }

}  // namespace heed::rt::ref
