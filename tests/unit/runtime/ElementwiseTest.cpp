#include "TestUtil.h"

#include <cmath>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectBools;
using heed::rt::test::expectTensorNear;

TEST(RuntimeElementwise, SameShape) {
  Tensor a = Tensor::fromF32({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::fromF32({2, 2}, {10, 20, 30, 40});
  expectTensorNear(binary(BinaryKind::Add, a, b), {2, 2}, {11, 22, 33, 44});
  expectTensorNear(binary(BinaryKind::Sub, a, b), {2, 2}, {-9, -18, -27, -36});
  expectTensorNear(binary(BinaryKind::Mul, a, b), {2, 2}, {10, 40, 90, 160});
  expectTensorNear(binary(BinaryKind::Div, b, a), {2, 2}, {10, 10, 10, 10});
}

TEST(RuntimeElementwise, BroadcastRowAndColumn) {
  Tensor m = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor row = Tensor::fromF32({3}, {10, 20, 30});
  Tensor col = Tensor::fromF32({2, 1}, {100, 200});
  expectTensorNear(binary(BinaryKind::Add, m, row), {2, 3}, {11, 22, 33, 14, 25, 36});
  expectTensorNear(binary(BinaryKind::Add, row, m), {2, 3}, {11, 22, 33, 14, 25, 36});
  expectTensorNear(binary(BinaryKind::Sub, m, col), {2, 3}, {-99, -98, -97, -196, -195, -194});
  // Outer product by broadcasting [2,1] against [3].
  expectTensorNear(binary(BinaryKind::Mul, col, row), {2, 3},
                   {1000, 2000, 3000, 2000, 4000, 6000});
  expectTensorNear(binary(BinaryKind::Mul, m, Tensor::scalarF32(2)), {2, 3}, {2, 4, 6, 8, 10, 12});
}

TEST(RuntimeElementwise, BroadcastMiddleDims) {
  // [2,1,3] + [4,1] -> [2,4,3]: out[i,j,k] = a[i,0,k] + b[j,0].
  Tensor a = Tensor::fromF32({2, 1, 3}, {0, 1, 2, 3, 4, 5});
  Tensor b = Tensor::fromF32({4, 1}, {0, 10, 20, 30});
  Tensor c = binary(BinaryKind::Add, a, b);
  ASSERT_EQ(c.shape(), (Shape{2, 4, 3}));
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) EXPECT_EQ(c.f32()[(i * 4 + j) * 3 + k], (i * 3 + k) + 10 * j);
}

TEST(RuntimeElementwise, Int32AndErrors) {
  Tensor a = Tensor::fromI32({3}, {7, -7, 9});
  Tensor b = Tensor::fromI32({3}, {2, 2, 3});
  Tensor q = binary(BinaryKind::Div, a, b);
  EXPECT_EQ(q.dtype(), DType::I32);
  EXPECT_EQ(q.i32()[0], 3);
  EXPECT_EQ(q.i32()[1], -3);
  EXPECT_EQ(binary(BinaryKind::Add, a, b).i32()[2], 12);
  EXPECT_THROW(binary(BinaryKind::Div, a, Tensor::fromI32({3}, {1, 0, 1})), Error);
  EXPECT_THROW(binary(BinaryKind::Add, a, Tensor::fromF32({3}, {1, 2, 3})), Error);
  EXPECT_THROW(binary(BinaryKind::Add, Tensor::fromF32({2}, {1, 2}), Tensor::fromF32({3}, {1, 2, 3})),
               Error);
  try {
    binary(BinaryKind::Mul, Tensor(DType::F32, {2, 3}), Tensor(DType::F32, {4}));
    FAIL() << "expected an Error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("mul"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(RuntimeElementwise, Compare) {
  Tensor a = Tensor::fromF32({2, 2}, {1, 2, 3, 4});
  Tensor b = Tensor::fromF32({2}, {2, 3});
  expectBools(compare(CompareKind::Eq, a, b), {2, 2}, {0, 0, 0, 0});
  expectBools(compare(CompareKind::Lt, a, b), {2, 2}, {1, 1, 0, 0});
  expectBools(compare(CompareKind::Le, a, b), {2, 2}, {1, 1, 0, 0});
  expectBools(compare(CompareKind::Ge, a, b), {2, 2}, {0, 0, 1, 1});
  Tensor i = Tensor::fromI32({3}, {0, 1, 2});
  Tensor j = Tensor::fromI32({3, 1}, {0, 1, 2});
  // Causal mask: key index <= query index.
  expectBools(compare(CompareKind::Le, i, j), {3, 3}, {1, 0, 0, 1, 1, 0, 1, 1, 1});
  expectBools(compare(CompareKind::Ne, i, j), {3, 3}, {0, 1, 1, 1, 0, 1, 1, 1, 0});
  expectBools(compare(CompareKind::Gt, i, j), {3, 3}, {0, 1, 1, 0, 0, 1, 0, 0, 0});
}

TEST(RuntimeElementwise, Where) {
  Tensor c = compare(CompareKind::Le, Tensor::fromI32({3}, {0, 1, 2}),
                     Tensor::fromI32({2, 1}, {0, 1}));
  Tensor a = Tensor::fromF32({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor ninf = Tensor::scalarF32(-1e9f);
  expectTensorNear(where(c, a, ninf), {2, 3}, {1, -1e9f, -1e9f, 4, 5, -1e9f});
  EXPECT_THROW(where(a, a, a), Error);
}

TEST(RuntimeElementwise, Unary) {
  Tensor x = Tensor::fromF32({4}, {-1, 0, 1, 4});
  expectTensorNear(unary(UnaryKind::Neg, x), {4}, {1, 0, -1, -4});
  expectTensorNear(unary(UnaryKind::Exp, x), {4},
                   {std::exp(-1.0f), 1, std::exp(1.0f), std::exp(4.0f)}, 1e-4f);
  expectTensorNear(unary(UnaryKind::Relu, x), {4}, {0, 0, 1, 4});
  expectTensorNear(unary(UnaryKind::Tanh, x), {4},
                   {std::tanh(-1.0f), 0, std::tanh(1.0f), std::tanh(4.0f)});
  Tensor p = Tensor::fromF32({2}, {1, 4});
  expectTensorNear(unary(UnaryKind::Sqrt, p), {2}, {1, 2});
  expectTensorNear(unary(UnaryKind::Rsqrt, p), {2}, {1, 0.5f});
  expectTensorNear(unary(UnaryKind::Log, p), {2}, {0, std::log(4.0f)});
  // gelu(x) = x * Phi(x): Phi(1) = 0.8413447, Phi(-1) = 0.1586553.
  expectTensorNear(unary(UnaryKind::Gelu, x), {4}, {-0.1586553f, 0, 0.8413447f, 3.9998734f});
  Tensor ni = unary(UnaryKind::Neg, Tensor::fromI32({2}, {3, -4}));
  EXPECT_EQ(ni.i32()[0], -3);
  EXPECT_EQ(ni.i32()[1], 4);
  EXPECT_THROW(unary(UnaryKind::Exp, Tensor::fromI32({1}, {1})), Error);
}

TEST(RuntimeElementwise, GeluGradValues) {
  // gelu'(0) = 0.5; gelu'(1) = Phi(1) + phi(1) = 0.8413447 + 0.2419707.
  Tensor x = Tensor::fromF32({2}, {0, 1});
  Tensor dy = Tensor::fromF32({2}, {2, 1});
  expectTensorNear(geluGrad(x, dy), {2}, {1.0f, 1.0833154f});
  EXPECT_THROW(geluGrad(x, Tensor::fromF32({1}, {1})), Error);
}
