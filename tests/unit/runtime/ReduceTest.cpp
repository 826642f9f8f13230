#include "TestUtil.h"

#include <cmath>
#include <limits>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

TEST(RuntimeReduce, SumMeanMaxAxes) {
  Tensor x = Tensor::fromF32({2, 3}, {1, 5, 3, 4, 2, 6});
  expectTensorNear(reduce(ReduceKind::Sum, x, 1, false), {2}, {9, 12});
  expectTensorNear(reduce(ReduceKind::Sum, x, 0, false), {3}, {5, 7, 9});
  expectTensorNear(reduce(ReduceKind::Mean, x, -1, true), {2, 1}, {3, 4});
  expectTensorNear(reduce(ReduceKind::Mean, x, 0, true), {1, 3}, {2.5f, 3.5f, 4.5f});
  expectTensorNear(reduce(ReduceKind::Max, x, 1, false), {2}, {5, 6});
  expectTensorNear(reduce(ReduceKind::Max, x, 0, false), {3}, {4, 5, 6});
  EXPECT_THROW(reduce(ReduceKind::Sum, x, 2, false), Error);
  EXPECT_THROW(reduce(ReduceKind::Sum, x, -3, false), Error);
}

TEST(RuntimeReduce, MiddleAxisOf3D) {
  Tensor x(DType::F32, {2, 3, 4});
  for (int i = 0; i < 24; ++i) x.f32()[i] = (float)i;
  Tensor s = reduce(ReduceKind::Sum, x, 1, false);
  ASSERT_EQ(s.shape(), (Shape{2, 4}));
  for (int a = 0; a < 2; ++a)
    for (int c = 0; c < 4; ++c)
      EXPECT_EQ(s.f32()[a * 4 + c], (a * 12 + c) * 3 + 4 + 8);
}

TEST(RuntimeReduce, DoubleAccumulation) {
  // 1e6 copies of 0.1f: a float accumulator drifts visibly; double does not.
  Tensor x(DType::F32, {1000000});
  for (int i = 0; i < 1000000; ++i) x.f32()[i] = 0.1f;
  EXPECT_NEAR(reduce(ReduceKind::Sum, x, 0, false).f32()[0], 100000.0f * 1.0000000015f, 0.01f);
}

TEST(RuntimeReduce, MaxPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = Tensor::fromF32({4}, {1, nan, 3, 2});
  EXPECT_TRUE(std::isnan(reduce(ReduceKind::Max, x, 0, false).f32()[0]));
}
