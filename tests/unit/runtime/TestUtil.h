// Helpers shared by the runtime unit tests.
#pragma once

#include "runtime/Tensor.h"
#include "runtime/kernels/Reference.h"

#include <gtest/gtest.h>

#include <vector>

namespace heed::rt::test {

inline std::vector<float> values(const Tensor &t) {
  return std::vector<float>(t.f32(), t.f32() + t.size());
}

inline void expectTensorNear(const Tensor &t, const Shape &shape, const std::vector<float> &want,
                             float tol = 1e-5f) {
  ASSERT_EQ(t.dtype(), DType::F32);
  ASSERT_EQ(shapeToString(t.shape()), shapeToString(shape));
  ASSERT_EQ((size_t)t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(t.f32()[i], want[i], tol) << "at flat index " << i;
}

inline void expectBools(const Tensor &t, const Shape &shape, const std::vector<int> &want) {
  ASSERT_EQ(t.dtype(), DType::Bool);
  ASSERT_EQ(shapeToString(t.shape()), shapeToString(shape));
  ASSERT_EQ((size_t)t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ((int)t.b8()[i], want[i]) << "at flat index " << i;
}

/// Deterministic pseudo-random f32 tensor in [lo, hi).
Tensor randomTensor(const Shape &shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace heed::rt::test
