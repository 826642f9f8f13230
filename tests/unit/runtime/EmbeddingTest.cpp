#include "TestUtil.h"

#include <cmath>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

TEST(RuntimeEmbedding, Gather) {
  Tensor table = Tensor::fromF32({3, 2}, {0, 1, 10, 11, 20, 21});
  Tensor ids = Tensor::fromI32({2, 2}, {2, 0, 1, 2});
  expectTensorNear(gather(table, ids), {2, 2, 2}, {20, 21, 0, 1, 10, 11, 20, 21});
}

TEST(RuntimeEmbedding, GatherRejectsOutOfRangeIds) {
  Tensor table(DType::F32, {3, 2});
  EXPECT_THROW(gather(table, Tensor::fromI32({2}, {0, 3})), Error);
  EXPECT_THROW(gather(table, Tensor::fromI32({2}, {-1, 0})), Error);
  try {
    gather(table, Tensor::fromI32({2}, {1, 7}));
    FAIL();
  } catch (const Error &e) {
    std::string m = e.what();
    EXPECT_NE(m.find("gather"), std::string::npos) << m;
    EXPECT_NE(m.find("7"), std::string::npos) << m;
  }
}

TEST(RuntimeEmbedding, ScatterAddAccumulatesRepeats) {
  Tensor dy = Tensor::fromF32({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor ids = Tensor::fromI32({2, 2}, {2, 0, 2, 2});
  // row 0 <- [3,4]; row 1 untouched; row 2 <- [1,2]+[5,6]+[7,8].
  expectTensorNear(scatterAdd(dy, ids, 4), {4, 2}, {3, 4, 0, 0, 13, 16, 0, 0});
  EXPECT_THROW(scatterAdd(dy, ids, 2), Error);
  EXPECT_THROW(scatterAdd(dy, Tensor::fromI32({4}, {0, 0, 0, 0}), 4), Error);
}

TEST(RuntimeEmbedding, Sinusoidal) {
  const int dim = 6;
  Tensor pe = sinusoidal(3, dim);
  ASSERT_EQ(pe.shape(), (Shape{3, 6}));
  // p = 0: sin 0 = 0, cos 0 = 1.
  for (int i = 0; i < dim; ++i) EXPECT_EQ(pe.f32()[i], i % 2 ? 1.0f : 0.0f);
  // p = 1: angles 1, 10000^(-2/6) = 0.0464159, 10000^(-4/6) = 0.00215443.
  const float *r = pe.f32() + dim;
  EXPECT_NEAR(r[0], std::sin(1.0), 1e-6);
  EXPECT_NEAR(r[1], std::cos(1.0), 1e-6);
  EXPECT_NEAR(r[2], std::sin(0.0464158883), 1e-6);
  EXPECT_NEAR(r[3], std::cos(0.0464158883), 1e-6);
  EXPECT_NEAR(r[4], std::sin(0.0021544347), 1e-6);
  EXPECT_NEAR(r[5], std::cos(0.0021544347), 1e-6);
  // Odd dim: the last column is a sin column.
  Tensor odd = sinusoidal(2, 3);
  EXPECT_NEAR(odd.f32()[3 + 2], std::sin(std::pow(10000.0, -2.0 / 3.0)), 1e-6);
}
