// GradientSum (the step's gradient from its slices) and the single-process
// communicator: the arithmetic that makes --micro-batches N and N ranks agree.
#include "runtime/dist/Communicator.h"
#include "runtime/Error.h"
#include "runtime/train/GradientSum.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace heed::rt;

namespace {

Tensor vec(std::vector<float> v) {
  Tensor t(DType::F32, {(int64_t)v.size()});
  std::memcpy(t.f32(), v.data(), v.size() * sizeof(float));
  return t;
}

TEST(GradientSum, WeightedSumInSliceOrder) {
  GradientSum s;
  s.add({{"a", vec({1.0f, 2.0f})}, {"b", vec({3.0f})}}, 0.25f);
  s.add({{"a", vec({0.1f, 1e8f})}, {"b", vec({-1.0f})}}, 0.75f);
  ASSERT_EQ(s.size(), 3);
  // Each product rounded to f32, then added: what a rank-order allreduce of
  // the ranks' own products computes.
  const float p0 = 0.25f * 2.0f, p1 = 0.75f * 1e8f;
  EXPECT_EQ(s.data()[1], p0 + p1);
  auto t = s.tensors();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].first, "a");
  EXPECT_EQ(t[1].first, "b");
  EXPECT_EQ(t[1].second.f32()[0], 0.25f * 3.0f + 0.75f * -1.0f);
  EXPECT_EQ(t[0].second.f32()[0], 0.25f * 1.0f + 0.75f * 0.1f);
}

TEST(GradientSum, SlicesMustAgree) {
  GradientSum s;
  s.add({{"a", vec({1.0f, 2.0f})}}, 0.5f);
  EXPECT_THROW(s.add({{"b", vec({1.0f, 2.0f})}}, 0.5f), Error);
  EXPECT_THROW(s.add({{"a", vec({1.0f})}}, 0.5f), Error);
  EXPECT_THROW(s.add({}, 0.5f), Error);
}

TEST(GradientSum, BatchRows) {
  Tensor t(DType::I32, {4, 3});
  for (int i = 0; i < 12; ++i) t.i32()[i] = i;
  Tensor r = batchRows(t, 2, 2);
  ASSERT_EQ(r.shape(), (Shape{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.i32()[i], 6 + i);
  EXPECT_THROW(batchRows(t, 3, 2), Error);
}

TEST(LocalCommunicator, IsOneRank) {
  LocalCommunicator c;
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  float x[2] = {1.5f, -2.0f};
  c.allreduceSumInRankOrder(x, 2);
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_EQ(c.anyBits(5u), 5u);
  EXPECT_EQ(c.firstTrue(false), -1);
  EXPECT_EQ(c.firstTrue(true), 0);
  EXPECT_EQ(c.allgatherU64(7).at(0), 7u);
  EXPECT_EQ(c.allgatherDouble(0.5).size(), 1u);
}

}  // namespace
