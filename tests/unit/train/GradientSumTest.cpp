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
  LocalCommunicator c;
  GradientSum s(c, 2);
  s.addRest(0, {{"a", vec({1.0f, 2.0f})}, {"b", vec({3.0f})}}, 0.25f);
  s.addRest(1, {{"a", vec({0.1f, 1e8f})}, {"b", vec({-1.0f})}}, 0.75f);
  auto t = s.finish();
  EXPECT_EQ(s.timing().floats, 3);
  // Each product rounded to f32, then added: what a rank-order allreduce of
  // the ranks' own products computes.
  const float p0 = 0.25f * 2.0f, p1 = 0.75f * 1e8f;
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].first, "a");
  EXPECT_EQ(t[1].first, "b");
  EXPECT_EQ(t[0].second.f32()[1], p0 + p1);
  EXPECT_EQ(t[1].second.f32()[0], 0.25f * 3.0f + 0.75f * -1.0f);
  EXPECT_EQ(t[0].second.f32()[0], 0.25f * 1.0f + 0.75f * 0.1f);
}

TEST(GradientSum, BucketsGiveTheSameSumInTheOptimizerOrder) {
  // The schedule hands "b" over first (bucket 0), then the optimizer step all
  // three; "a" and "c" form the rest. The result is the unbucketed sum.
  LocalCommunicator c;
  GradientSum s(c, 3);
  const float w[3] = {0.5f, 0.3f, 0.2f};
  auto grads = [](int k) -> GradientSum::Grads {
    float f = 1.0f + 0.37f * (float)k;
    return {{"a", vec({f, -f})}, {"b", vec({3.0f * f})}, {"c", vec({f * f, 1e-3f, 7.0f})}};
  };
  for (int k = 0; k < 3; ++k) {
    GradientSum::Grads g = grads(k);
    s.addBucket(k, 0, {g[1]}, w[k]);
    s.addRest(k, g, w[k]);
  }
  auto t = s.finish();
  EXPECT_EQ(s.timing().buckets, 2);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].first, "a");
  EXPECT_EQ(t[1].first, "b");
  EXPECT_EQ(t[2].first, "c");
  LocalCommunicator c2;
  GradientSum plain(c2, 3);
  for (int k = 0; k < 3; ++k) plain.addRest(k, grads(k), w[k]);
  auto u = plain.finish();
  for (size_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < t[i].second.size(); ++j) EXPECT_EQ(t[i].second.f32()[j], u[i].second.f32()[j]);
}

TEST(GradientSum, SlicesMustAgree) {
  LocalCommunicator c;
  GradientSum s(c, 2);
  s.addRest(0, {{"a", vec({1.0f, 2.0f})}}, 0.5f);
  EXPECT_THROW(s.addRest(1, {{"b", vec({1.0f, 2.0f})}}, 0.5f), Error);
  GradientSum s2(c, 2);
  s2.addRest(0, {{"a", vec({1.0f, 2.0f})}}, 0.5f);
  EXPECT_THROW(s2.addRest(1, {{"a", vec({1.0f})}}, 0.5f), Error);
  GradientSum s3(c, 2);
  s3.addRest(0, {{"a", vec({1.0f, 2.0f})}}, 0.5f);
  EXPECT_THROW(s3.addRest(1, {}, 0.5f), Error);
  GradientSum s4(c, 2);
  s4.addRest(0, {{"a", vec({1.0f, 2.0f})}}, 0.5f);
  EXPECT_THROW(s4.finish(), Error);  // slice 1 never came
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

TEST(ShardedBatchSums, OneProcessAddsInBatchOrder) {
  std::vector<int64_t> seen;
  std::vector<double> s = shardedBatchSums(nullptr, 3, 2, [&](int64_t b, double *out) {
    seen.push_back(b);
    out[0] = 0.1 * (double)(b + 1);
    out[1] = (double)b;
  });
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(s[0], (0.1 + 0.2) + 0.30000000000000004);
  EXPECT_EQ(s[1], 3.0);
}

}  // namespace
