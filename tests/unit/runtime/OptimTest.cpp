#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

TEST(RuntimeOptim, AdamTwoStepsByHand) {
  // p = 1, g = 0.5, lr 0.1, b1 0.9, b2 0.999:
  // step 1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25, p -= 0.1 * 0.5 / 0.5 -> 0.9.
  // step 2: m = 0.095, v = 0.00049975, mhat = 0.095/0.19 = 0.5, vhat = 0.00049975/0.001999 = 0.25,
  //   p -> 0.8.
  Tensor p = Tensor::fromF32({2}, {1, -1});
  Tensor m(DType::F32, {2}), v(DType::F32, {2});
  Tensor g = Tensor::fromF32({2}, {0.5f, -0.5f});
  adamUpdate(p, m, v, g, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 1);
  expectTensorNear(p, {2}, {0.9f, -0.9f});
  expectTensorNear(m, {2}, {0.05f, -0.05f});
  expectTensorNear(v, {2}, {0.00025f, 0.00025f}, 2e-8f);  // 0.999f is not exactly 0.999
  adamUpdate(p, m, v, g, 0.1f, 0.9f, 0.999f, 1e-8f, 0.0f, 2);
  expectTensorNear(p, {2}, {0.8f, -0.8f}, 1e-5f);
  expectTensorNear(m, {2}, {0.095f, -0.095f});
  expectTensorNear(v, {2}, {0.00049975f, 0.00049975f}, 2e-8f);  // 0.999f is not exactly 0.999
}

TEST(RuntimeOptim, AdamWDecoupledDecay) {
  // p = 1: p * (1 - lr * wd) - lr * 1 = 1 * (1 - 0.1 * 0.01) - 0.1 = 0.899.
  Tensor p = Tensor::fromF32({1}, {1});
  Tensor m(DType::F32, {1}), v(DType::F32, {1});
  adamUpdate(p, m, v, Tensor::fromF32({1}, {0.5f}), 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
  expectTensorNear(p, {1}, {0.899f});
  EXPECT_THROW(adamUpdate(p, m, v, Tensor::fromF32({1}, {0.5f}), 0.1f, 0.9f, 0.999f, 1e-8f, 0, 0),
               Error);
  EXPECT_THROW(adamUpdate(p, m, v, Tensor::fromF32({2}, {0.5f, 1}), 0.1f, 0.9f, 0.999f, 1e-8f, 0, 1),
               Error);
}

TEST(RuntimeOptim, SgdNormScale) {
  Tensor p = Tensor::fromF32({2}, {1, 2});
  sgdUpdate(p, Tensor::fromF32({2}, {10, -10}), 0.1f);
  expectTensorNear(p, {2}, {0, 3});
  Tensor a = Tensor::fromF32({1}, {3});
  Tensor b = Tensor::fromF32({1, 1}, {4});
  EXPECT_FLOAT_EQ(globalNorm({&a, &b}), 5.0f);
  EXPECT_FLOAT_EQ(globalNorm({}), 0.0f);
  scaleInPlace(b, 0.5f);
  expectTensorNear(b, {1, 1}, {2});
}
