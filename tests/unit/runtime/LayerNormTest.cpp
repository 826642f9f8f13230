#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

TEST(RuntimeLayerNorm, TwoByThreeByHand) {
  // Row [1,2,3]: mean 2, biased var 2/3, xhat = [-1.2247449, 0, 1.2247449].
  // Row [2,4,6]: mean 4, biased var 8/3, same xhat.
  Tensor x = Tensor::fromF32({2, 3}, {1, 2, 3, 2, 4, 6});
  Tensor ones = Tensor::fromF32({3}, {1, 1, 1});
  Tensor zeros = Tensor::fromF32({3}, {0, 0, 0});
  const float h = 1.2247449f;
  expectTensorNear(layerNorm(x, ones, zeros, 0.0f), {2, 3}, {-h, 0, h, -h, 0, h});
  Tensor gamma = Tensor::fromF32({3}, {1, 2, 3});
  Tensor beta = Tensor::fromF32({3}, {0.5f, 0, -0.5f});
  expectTensorNear(layerNorm(x, gamma, beta, 0.0f), {2, 3},
                   {0.5f - h, 0, 3 * h - 0.5f, 0.5f - h, 0, 3 * h - 0.5f});
  // eps = 1 on row [1,2,3]: rstd = 1/sqrt(2/3 + 1) = 0.7745967.
  expectTensorNear(layerNorm(Tensor::fromF32({3}, {1, 2, 3}), ones, zeros, 1.0f), {3},
                   {-0.7745967f, 0, 0.7745967f});
}

TEST(RuntimeLayerNorm, GradByHand) {
  // For dy = 1 everywhere and gamma = 1: dx = 0 (shift invariance), dbeta = rows, dgamma = sum xhat.
  Tensor x = Tensor::fromF32({2, 3}, {1, 2, 3, 2, 4, 6});
  Tensor ones = Tensor::fromF32({3}, {1, 1, 1});
  Tensor dy = Tensor::fromF32({2, 3}, {1, 1, 1, 1, 1, 1});
  LayerNormGrads g = layerNormGrad(x, ones, dy, 0.0f);
  expectTensorNear(g.dx, {2, 3}, {0, 0, 0, 0, 0, 0});
  expectTensorNear(g.dbeta, {3}, {2, 2, 2});
  expectTensorNear(g.dgamma, {3}, {-2 * 1.2247449f, 0, 2 * 1.2247449f});
}

TEST(RuntimeLayerNorm, Errors) {
  Tensor x(DType::F32, {2, 3});
  EXPECT_THROW(layerNorm(x, Tensor(DType::F32, {2}), Tensor(DType::F32, {3}), 1e-5f), Error);
  EXPECT_THROW(layerNorm(x, Tensor(DType::F32, {3}), Tensor(DType::F32, {2}), 1e-5f), Error);
  EXPECT_THROW(layerNormGrad(x, Tensor(DType::F32, {3}), Tensor(DType::F32, {3, 3}), 1e-5f), Error);
}
