#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;
using heed::rt::test::randomTensor;

TEST(RuntimeShape, Transpose2D) {
  Tensor x = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  expectTensorNear(transpose(x, {1, 0}), {3, 2}, {1, 4, 2, 5, 3, 6});
  expectTensorNear(transpose(x, {0, 1}), {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(RuntimeShape, TransposeHeads) {
  // [B=2, T=3, H=2, Dh=2] -> [B, H, T, Dh] (perm 0,2,1,3), checked elementwise.
  Tensor x = randomTensor({2, 3, 2, 2}, 5);
  Tensor y = transpose(x, {0, 2, 1, 3});
  ASSERT_EQ(y.shape(), (Shape{2, 2, 3, 2}));
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 3; ++t)
      for (int h = 0; h < 2; ++h)
        for (int d = 0; d < 2; ++d)
          EXPECT_EQ(y.f32()[((b * 2 + h) * 3 + t) * 2 + d], x.f32()[((b * 3 + t) * 2 + h) * 2 + d]);
  // Round trip.
  expectTensorNear(transpose(y, {0, 2, 1, 3}), x.shape(), heed::rt::test::values(x), 0);
  // Non-f32 dtypes just move bits.
  Tensor ids = transpose(Tensor::fromI32({2, 2}, {1, 2, 3, 4}), {1, 0});
  EXPECT_EQ(ids.i32()[1], 3);
  EXPECT_THROW(transpose(x, {0, 1, 1, 3}), Error);
  EXPECT_THROW(transpose(x, {0, 1}), Error);
}

TEST(RuntimeShape, Reshape) {
  Tensor x = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  expectTensorNear(reshape(x, {3, 2}), {3, 2}, {1, 2, 3, 4, 5, 6});
  expectTensorNear(reshape(x, {6}), {6}, {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(reshape(x, {4}), Error);
}

TEST(RuntimeShape, BroadcastRowOntoMatrix) {
  Tensor v = Tensor::fromF32({3}, {1, 2, 3});
  expectTensorNear(broadcastTo(v, {2, 3}), {2, 3}, {1, 2, 3, 1, 2, 3});
  Tensor c = Tensor::fromF32({2, 1}, {1, 2});
  expectTensorNear(broadcastTo(c, {2, 3}), {2, 3}, {1, 1, 1, 2, 2, 2});
  expectTensorNear(broadcastTo(Tensor::scalarF32(7), {2, 2}), {2, 2}, {7, 7, 7, 7});
  EXPECT_THROW(broadcastTo(v, {2, 4}), Error);
  EXPECT_THROW(broadcastTo(Tensor(DType::F32, {2, 3}), {3}), Error);
}

TEST(RuntimeShape, SumToInvertsBroadcast) {
  Tensor m = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  expectTensorNear(sumTo(m, {3}), {3}, {5, 7, 9});
  expectTensorNear(sumTo(m, {1, 3}), {1, 3}, {5, 7, 9});
  expectTensorNear(sumTo(m, {2, 1}), {2, 1}, {6, 15});
  expectTensorNear(sumTo(m, {}), {}, {21});
  expectTensorNear(sumTo(m, {2, 3}), {2, 3}, {1, 2, 3, 4, 5, 6});
  // sum_to(broadcast(v, S), shape(v)) == v * (numel(S) / numel(v)).
  Tensor v = randomTensor({4, 1, 5}, 6);
  Tensor b = broadcastTo(v, {3, 4, 2, 5});
  Tensor back = sumTo(b, {4, 1, 5});
  for (int i = 0; i < 20; ++i) EXPECT_NEAR(back.f32()[i], 6 * v.f32()[i], 1e-5f);
  EXPECT_THROW(sumTo(m, {4}), Error);
}
