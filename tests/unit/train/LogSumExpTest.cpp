//===- LogSumExpTest.cpp - the one log-softmax of rows of logits ----------===//

#include "runtime/kernels/LogSumExp.h"
#include "runtime/kernels/Reference.h"

#include <gtest/gtest.h>

#include <cmath>

namespace heed::rt {
namespace {

TEST(LogSumExp, MatchesTheCrossEntropyKernelBitForBit) {
  // Large logits: a naive exp would overflow.
  const float row[4] = {1000.0f, 999.0f, -3.0f, 998.5f};
  Tensor logits(DType::F32, {1, 4}), targets(DType::I32, {1});
  for (int c = 0; c < 4; ++c) logits.f32()[c] = row[c];
  for (int32_t t = 0; t < 4; ++t) {
    targets.i32()[0] = t;
    float kernel = ref::crossEntropy(logits, targets, 0.0f, -1).f32()[0];
    EXPECT_EQ((float)crossEntropyRow(row, 4, t), kernel) << "target " << t;
  }
  const double lse = 1000.0 + std::log(1.0 + std::exp(-1.0) + std::exp(-1003.0) + std::exp(-1.5));
  EXPECT_NEAR(logSumExp(row, 4), lse, 1e-9);
  float lp[4];
  logSoftmaxRow(row, lp, 4);
  double total = 0;
  for (float v : lp) total += std::exp((double)v);
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_FLOAT_EQ(lp[1] - lp[0], -1.0f);
}

}  // namespace
}  // namespace heed::rt
