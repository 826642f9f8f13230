#include "TestUtil.h"

#include <cmath>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::expectTensorNear;

TEST(RuntimeSoftmax, OneTwoThree) {
  // e^1, e^2, e^3 over their sum 30.19287485: 0.09003057, 0.24472847, 0.66524096.
  Tensor x = Tensor::fromF32({3}, {1, 2, 3});
  expectTensorNear(softmax(x, 0), {3}, {0.09003057f, 0.24472847f, 0.66524096f});
  expectTensorNear(logSoftmax(x, -1), {3},
                   {std::log(0.09003057f), std::log(0.24472847f), std::log(0.66524096f)});
}

TEST(RuntimeSoftmax, StableForLargeInputs) {
  Tensor x = Tensor::fromF32({3}, {1001, 1002, 1003});
  expectTensorNear(softmax(x, 0), {3}, {0.09003057f, 0.24472847f, 0.66524096f});
  Tensor m = Tensor::fromF32({2}, {0, -1e30f});
  expectTensorNear(softmax(m, 0), {2}, {1, 0});
}

TEST(RuntimeSoftmax, NonLastAxis) {
  // Softmax over axis 0 of [2, 3] equals the transpose of softmax over the last axis.
  Tensor x = Tensor::fromF32({2, 3}, {1, 0, 2, 2, 0, 1});
  Tensor s0 = softmax(x, 0);
  Tensor s1 = softmax(transpose(x, {1, 0}), 1);
  expectTensorNear(transpose(s1, {1, 0}), {2, 3}, heed::rt::test::values(s0));
  const float a = 1 / (1 + std::exp(1.0f));
  expectTensorNear(s0, {2, 3}, {a, 0.5f, 1 - a, 1 - a, 0.5f, a});
}
