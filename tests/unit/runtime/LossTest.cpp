#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

namespace {
// Row 0: logits [1,2,3], target 2: lse = 3 + log(1 + e^-1 + e^-2) = 3.4076059,
//   -log p[2] = 0.4076059, mean_c(-log p[c]) = lse - 2 = 1.4076059.
// Row 1: logits [1,1,1], target 0: -log p[0] = mean_c(-log p[c]) = log 3 = 1.0986123.
// Row 2: target -100 (ignored).
Tensor logits() { return Tensor::fromF32({3, 3}, {1, 2, 3, 1, 1, 1, 0, 0, 5}); }
Tensor targets() { return Tensor::fromI32({3}, {2, 0, -100}); }
}  // namespace

TEST(RuntimeLoss, CrossEntropyPlain) {
  Tensor l = crossEntropy(logits(), targets(), 0.0f, -100);
  expectTensorNear(l, {}, {(0.4076059f + 1.0986123f) / 2});
}

TEST(RuntimeLoss, CrossEntropySmoothingAndIgnore) {
  // Row 0: 0.9 * 0.4076059 + 0.1 * 1.4076059 = 0.5076059; row 1: 1.0986123.
  Tensor l = crossEntropy(logits(), targets(), 0.1f, -100);
  expectTensorNear(l, {}, {(0.5076059f + 1.0986123f) / 2});
  // Batched shape [1, 3, 3] / [1, 3] gives the same.
  Tensor l3 = crossEntropy(logits().reshaped({1, 3, 3}), targets().reshaped({1, 3}), 0.1f, -100);
  expectTensorNear(l3, {}, {(0.5076059f + 1.0986123f) / 2});
}

TEST(RuntimeLoss, CrossEntropyAllIgnoredIsZero) {
  Tensor t = Tensor::fromI32({3}, {-100, -100, -100});
  expectTensorNear(crossEntropy(logits(), t, 0.1f, -100), {}, {0});
  Tensor g = crossEntropyGrad(logits(), t, Tensor::scalarF32(1), 0.1f, -100);
  expectTensorNear(g, {3, 3}, std::vector<float>(9, 0.0f));
}

TEST(RuntimeLoss, CrossEntropyTargetChecks) {
  // ignoreIndex -1 means "none": -100 is then an out-of-range target.
  EXPECT_THROW(crossEntropy(logits(), targets(), 0.0f, -1), Error);
  EXPECT_THROW(crossEntropy(logits(), Tensor::fromI32({3}, {0, 3, 1}), 0.0f, -1), Error);
  EXPECT_THROW(crossEntropy(logits(), Tensor::fromI32({2}, {0, 1}), 0.0f, -1), Error);
  EXPECT_THROW(crossEntropyGrad(logits(), targets(), Tensor::fromF32({2}, {1, 1}), 0.0f, -100),
               Error);
}

TEST(RuntimeLoss, CrossEntropyGradByHand) {
  // Row 1 of the grad: (softmax - 0.9 onehot - 0.1/3) / count, softmax = 1/3 each, count 2.
  Tensor g = crossEntropyGrad(logits(), targets(), Tensor::scalarF32(1), 0.1f, -100);
  const float third = 1.0f / 3;
  EXPECT_NEAR(g.f32()[3], (third - 0.9f - 0.1f / 3) / 2, 1e-6f);
  EXPECT_NEAR(g.f32()[4], (third - 0.1f / 3) / 2, 1e-6f);
  for (int c = 6; c < 9; ++c) EXPECT_EQ(g.f32()[c], 0.0f);  // ignored row
  // Each non-ignored row sums to zero.
  EXPECT_NEAR(g.f32()[0] + g.f32()[1] + g.f32()[2], 0.0f, 1e-6f);
}
