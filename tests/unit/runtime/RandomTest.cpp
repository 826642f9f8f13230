#include "TestUtil.h"

#include "runtime/Random.h"

#include <cmath>

using namespace heed::rt;

TEST(RuntimeRandom, Deterministic) {
  EXPECT_EQ(hash64(1, 2, 3), hash64(1, 2, 3));
  EXPECT_NE(hash64(1, 2, 3), hash64(1, 2, 4));
  EXPECT_NE(hash64(1, 2, 3), hash64(1, 3, 3));
  EXPECT_NE(hash64(1, 2, 3), hash64(2, 2, 3));
  // The keys are not interchangeable.
  EXPECT_NE(hash64(1, 2, 3), hash64(3, 2, 1));
  EXPECT_EQ(hashString("encoder.w"), hashString("encoder.w"));
  EXPECT_NE(hashString("encoder.w"), hashString("encoder.b"));
}

TEST(RuntimeRandom, PinnedValues) {
  // Reproducibility contract: these must never change.
  EXPECT_EQ(mix64(0), 0u);
  EXPECT_EQ(uniform01(0, 0, 0), (float)(hash64(0, 0, 0) >> 40) / 16777216.0f);
}

TEST(RuntimeRandom, UniformMoments) {
  const int n = 200000;
  double s = 0, s2 = 0;
  float lo = 1, hi = 0;
  for (int i = 0; i < n; ++i) {
    float u = uniform01(7, 3, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
    s += u;
    s2 += (double)u * u;
  }
  double mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(var, 1.0 / 12.0, 0.002);
  EXPECT_LT(lo, 1e-3);
  EXPECT_GT(hi, 1 - 1e-3);
}

TEST(RuntimeRandom, NormalMoments) {
  const int n = 200000;
  double s = 0, s2 = 0, s4 = 0;
  for (int i = 0; i < n; ++i) {
    double z = normal(11, 5, i);
    ASSERT_TRUE(std::isfinite(z));
    s += z;
    s2 += z * z;
    s4 += z * z * z * z;
  }
  EXPECT_NEAR(s / n, 0.0, 0.01);
  EXPECT_NEAR(s2 / n, 1.0, 0.02);
  EXPECT_NEAR(s4 / n, 3.0, 0.1);  // kurtosis of a Gaussian
}
