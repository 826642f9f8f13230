#include "TempDir.h"
#include "TestUtil.h"

#include "runtime/Error.h"
#include "runtime/kernels/Reference.h"
#include "runtime/train/Optimizer.h"

#include <cmath>
#include <limits>

using namespace heed::rt;
using namespace heed::rt::test;

namespace {
using Grads = std::vector<std::pair<std::string, Tensor>>;
}

TEST(RuntimeOptimizer, SgdOneStepByHand) {
  ParamStore s;
  Param &p = s.add("w", {2});
  p.value = Tensor::fromF32({2}, {1, 2});
  OptimizerConfig cfg;
  cfg.kind = "sgd";
  float norm = applyUpdate(s, {{"w", Tensor::fromF32({2}, {3, 4})}}, cfg, 0.1f, 1);
  EXPECT_FLOAT_EQ(norm, 5.0f);
  expectTensorNear(p.value, {2}, {0.7f, 1.6f});
  EXPECT_FALSE(p.m.defined());
}

TEST(RuntimeOptimizer, AdamOneStepByHand) {
  // Step 1 of Adam moves every element by lr * sign(g) (up to eps): mhat = g, vhat = g^2.
  ParamStore s;
  Param &p = s.add("w", {3});
  p.value = Tensor::fromF32({3}, {1, 2, 3});
  OptimizerConfig cfg;  // adam, 0.9, 0.98, 1e-9
  applyUpdate(s, {{"w", Tensor::fromF32({3}, {0.5f, -2, 0})}}, cfg, 0.01f, 1);
  expectTensorNear(p.value, {3}, {0.99f, 2.01f, 3});
  expectTensorNear(p.m, {3}, {0.05f, -0.2f, 0});
  expectTensorNear(p.v, {3}, {0.005f, 0.08f, 0}, 1e-7f);
}

TEST(RuntimeOptimizer, AdamWDecayDefaultAndFrozen) {
  ParamStore s;
  Param &p = s.add("w", {1});
  Param &f = s.add("frozen", {1}, "zeros", true);
  p.value = Tensor::fromF32({1}, {1});
  f.value = Tensor::fromF32({1}, {1});
  OptimizerConfig cfg;
  cfg.kind = "adamw";
  EXPECT_FLOAT_EQ(cfg.effectiveWeightDecay(), 0.01f);
  // p * (1 - lr * 0.01) - lr * 1 = 1 * (1 - 0.001) - 0.1 = 0.899
  float norm = applyUpdate(s, {{"w", Tensor::fromF32({1}, {0.5f})}, {"frozen", Tensor::fromF32({1}, {100})}},
                           cfg, 0.1f, 1);
  EXPECT_FLOAT_EQ(norm, 0.5f);  // frozen gradients are not counted
  expectTensorNear(p.value, {1}, {0.899f});
  expectTensorNear(f.value, {1}, {1}, 0);
  EXPECT_FALSE(f.m.defined());
}

TEST(RuntimeOptimizer, ClipScalesToTheClipNorm) {
  ParamStore s;
  Param &a = s.add("a", {2});
  Param &b = s.add("b", {1});
  OptimizerConfig cfg;
  cfg.kind = "sgd";
  cfg.clip = 1.0f;
  // Global norm of (3, 4) and (12) is 13; clipped gradients are (3, 4, 12) / 13,
  // so with lr 1 the parameters move by exactly the clipped gradient.
  Grads g{{"a", Tensor::fromF32({2}, {3, 4})}, {"b", Tensor::fromF32({1}, {12})}};
  float norm = applyUpdate(s, g, cfg, 1.0f, 1);
  EXPECT_FLOAT_EQ(norm, 13.0f);
  expectTensorNear(a.value, {2}, {-3.0f / 13, -4.0f / 13});
  expectTensorNear(b.value, {1}, {-12.0f / 13});
  Tensor moved = Tensor::fromF32({3}, {a.value.f32()[0], a.value.f32()[1], b.value.f32()[0]});
  EXPECT_NEAR(ref::globalNorm({&moved}), 1.0f, 1e-6f);
  // The caller's gradients are not modified.
  EXPECT_EQ(g[0].second.f32()[0], 3.0f);
  // Below the clip nothing is scaled.
  float small = applyUpdate(s, {{"a", Tensor::fromF32({2}, {0.3f, 0.4f})}}, cfg, 1.0f, 2);
  EXPECT_FLOAT_EQ(small, 0.5f);
  EXPECT_NEAR(a.value.f32()[0], -3.0f / 13 - 0.3f, 1e-6f);
}

TEST(RuntimeOptimizer, NonFiniteGradientChangesNothing) {
  ParamStore s;
  Param &p = s.add("w", {2}, "ones");
  initialize(p, 0);
  OptimizerConfig cfg;
  float norm = applyUpdate(
      s, {{"w", Tensor::fromF32({2}, {1, std::numeric_limits<float>::quiet_NaN()})}}, cfg, 0.1f, 1);
  EXPECT_TRUE(std::isnan(norm));
  expectTensorNear(p.value, {2}, {1, 1}, 0);
}

TEST(RuntimeOptimizer, Errors) {
  ParamStore s;
  s.add("w", {2});
  OptimizerConfig cfg;
  expectErrorContaining([&] { applyUpdate(s, {{"x", Tensor::fromF32({2}, {1, 1})}}, cfg, 0.1f, 1); },
                        {"unknown parameter 'x'"});
  expectErrorContaining([&] { applyUpdate(s, {{"w", Tensor::fromF32({3}, {1, 1, 1})}}, cfg, 0.1f, 1); },
                        {"'w'", "[3]", "[2]"});
  cfg.kind = "rmsprop";
  expectErrorContaining([&] { applyUpdate(s, {}, cfg, 0.1f, 1); }, {"'rmsprop'", "adam, adamw, sgd"});
}
