#include "TestUtil.h"

using namespace heed::rt;
using namespace heed::rt::ref;

TEST(RuntimeDropout, KeepFractionAndScale) {
  const int n = 100000;
  Tensor x(DType::F32, {n});
  for (int i = 0; i < n; ++i) x.f32()[i] = 1.0f;
  const float p = 0.3f;
  Tensor y = dropout(x, p, 42, 7);
  int kept = 0;
  for (int i = 0; i < n; ++i) {
    float v = y.f32()[i];
    if (v != 0.0f) {
      ++kept;
      EXPECT_FLOAT_EQ(v, 1.0f / (1.0f - p));
    }
  }
  // Binomial std is sqrt(n p (1-p)) / n = 0.00145: allow ~5 sigma.
  EXPECT_NEAR((double)kept / n, 1.0 - p, 0.0075);
}

TEST(RuntimeDropout, ReproducibleByStep) {
  Tensor x = heed::rt::test::randomTensor({64, 33}, 9);
  Tensor a = dropout(x, 0.5f, 1, 100);
  Tensor b = dropout(x, 0.5f, 1, 100);
  Tensor c = dropout(x, 0.5f, 1, 101);
  Tensor d = dropout(x, 0.5f, 2, 100);
  int sameAB = 0, sameAC = 0, sameAD = 0;
  for (int64_t i = 0; i < x.size(); ++i) {
    sameAB += a.f32()[i] == b.f32()[i];
    sameAC += (a.f32()[i] == 0) == (c.f32()[i] == 0);
    sameAD += (a.f32()[i] == 0) == (d.f32()[i] == 0);
  }
  EXPECT_EQ(sameAB, x.size());
  EXPECT_LT(sameAC, x.size() * 0.6);  // independent masks agree on ~half the elements
  EXPECT_LT(sameAD, x.size() * 0.6);
  // The mask is a function of (seed, step, index) only: dropout of dy reproduces it.
  Tensor ones(DType::F32, x.shape());
  for (int64_t i = 0; i < x.size(); ++i) ones.f32()[i] = 1;
  Tensor mask = dropout(ones, 0.5f, 1, 100);
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(a.f32()[i], x.f32()[i] * mask.f32()[i]);
}

TEST(RuntimeDropout, EdgeProbabilities) {
  Tensor x = Tensor::fromF32({3}, {1, 2, 3});
  Tensor y = dropout(x, 0.0f, 1, 1);
  heed::rt::test::expectTensorNear(y, {3}, {1, 2, 3}, 0);
  EXPECT_NE(y.raw(), x.raw());  // a copy, not an alias
  heed::rt::test::expectTensorNear(dropout(x, 1.0f, 1, 1), {3}, {0, 0, 0}, 0);
  EXPECT_THROW(dropout(x, 1.5f, 1, 1), Error);
  EXPECT_THROW(dropout(x, -0.1f, 1, 1), Error);
}
