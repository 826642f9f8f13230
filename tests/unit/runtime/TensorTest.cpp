#include "TestUtil.h"

#include "runtime/Error.h"
#include "runtime/Random.h"

namespace heed::rt::test {
Tensor randomTensor(const Shape &shape, uint64_t seed, float lo, float hi) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.size(); ++i)
    t.f32()[i] = lo + (hi - lo) * uniform01(seed, 12345, (uint64_t)i);
  return t;
}
}  // namespace heed::rt::test

using namespace heed::rt;

TEST(RuntimeTensor, DTypeHelpers) {
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_EQ(dtypeSize(DType::Bool), 1u);
  EXPECT_STREQ(dtypeName(DType::Bool), "bool");
  EXPECT_EQ(numElements({}), 1);
  EXPECT_EQ(numElements({2, 0, 3}), 0);
  EXPECT_EQ(shapeToString({2, 3}), "[2, 3]");
  EXPECT_EQ(shapeToString({}), "[]");
}

TEST(RuntimeTensor, ZerosAndFactories) {
  Tensor z = Tensor::zeros(DType::F32, {2, 3});
  EXPECT_TRUE(z.defined());
  EXPECT_EQ(z.size(), 6);
  EXPECT_EQ(z.bytes(), 24u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(z.f32()[i], 0.0f);
  Tensor s = Tensor::scalarF32(2.5f);
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.f32()[0], 2.5f);
  Tensor i = Tensor::fromI32({3}, {1, 2, 3});
  EXPECT_EQ(i.i32()[2], 3);
  EXPECT_EQ(i.dim(-1), 3);
  EXPECT_THROW(Tensor::fromF32({2}, {1, 2, 3}), Error);
  EXPECT_THROW(i.f32(), Error);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_TRUE(Tensor(DType::F32, {0}).defined());
}

TEST(RuntimeTensor, ReshapedSharesCloneCopies) {
  Tensor a = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = a.reshaped({3, 2});
  Tensor c = a.clone();
  a.f32()[0] = 42;
  EXPECT_EQ(r.f32()[0], 42);
  EXPECT_EQ(c.f32()[0], 1);
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_THROW(a.reshaped({4}), Error);
}
