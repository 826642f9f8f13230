// native::matmulBf16 against ref::matmulBf16 (the same bf16 rounding of both inputs,
// float32 accumulation), and the rounding itself (castToBf16 == rt::toBf16Bits).
#include "NativeTestUtil.h"

#include "runtime/Precision.h"
#include "runtime/native/Bf16.h"

#include <cmath>
#include <limits>

namespace heed::rt::native::test {
namespace {

class Bf16 : public ::testing::Test {
protected:
  void SetUp() override {
    if (!bf16Unsupported().empty()) GTEST_SKIP() << bf16Unsupported();
  }
};

/// a[batch, M, K] (or its transpose) @ b[batch or 1, K, N] + bias, relu.
void runCase(int64_t batch, int64_t M, int64_t N, int64_t K, bool tA, bool tB, bool broadcastB, bool bias,
             Act act, bool acc) {
  auto a = randomVec(batch * M * K, 1), b = randomVec((broadcastB ? 1 : batch) * K * N, 2), bv = randomVec(N, 3);
  auto c0 = randomVec(batch * M * N, 4);
  Tensor ta = tensorOf({batch, tA ? K : M, tA ? M : K}, a), tb = tensorOf({broadcastB ? 1 : batch, tB ? N : K, tB ? K : N}, b);
  if (tA) ta = ref::transpose(ta, {0, 2, 1});
  if (tB) tb = ref::transpose(tb, {0, 2, 1});
  Tensor want = ref::matmulBf16(ta, tb), exact = ref::matmul(ta, tb);
  if (bias) want = ref::binary(ref::BinaryKind::Add, want, tensorOf({N}, bv));
  if (bias) exact = ref::binary(ref::BinaryKind::Add, exact, tensorOf({N}, bv));
  if (act == Act::Relu) want = ref::unary(ref::UnaryKind::Relu, want), exact = ref::unary(ref::UnaryKind::Relu, exact);
  if (acc) {
    want = ref::binary(ref::BinaryKind::Add, tensorOf({batch, M, N}, c0), want);
    exact = ref::binary(ref::BinaryKind::Add, tensorOf({batch, M, N}, c0), exact);
  }
  forThreadCounts([&] {
    for (int again = 0; again < 2; ++again) {  // the second call from the primitive cache
      std::vector<float> got = c0;
      matmulBf16(a.data(), b.data(), got.data(), batch, M, N, K, tA, tB, bias ? bv.data() : nullptr, act, acc,
                 M * K, broadcastB ? 0 : K * N);
      // The products of bf16 values are exact in float32: only the summation order differs.
      expectClose(got, want, 1e-5, "bf16 kernel vs bf16 reference");
      // ... and the inputs really were rounded (8 mantissa bits, ~2e-3 relative).
      EXPECT_GT(normwiseError(got.data(), valuesOf(exact).data(), (int64_t)got.size()), 1e-4);
    }
  });
}

TEST_F(Bf16, MatchesTheBf16Reference) {
  runCase(1, 7, 13, 5, false, false, false, false, Act::None, false);
  runCase(3, 33, 65, 17, true, false, false, true, Act::Relu, false);
  runCase(2, 64, 64, 64, false, true, false, false, Act::None, true);
  runCase(4, 9, 14, 11, true, true, true, true, Act::None, false);
  runCase(1, 512, 512, 128, false, false, false, true, Act::Relu, false);  // threaded cast and GEMM
  runCase(1, 128, 256, 1024, true, false, false, false, Act::None, true);  // a weight gradient, accumulated
}

TEST_F(Bf16, EmptyContractionIsBiasOnly) {
  std::vector<float> bias = {1.f, -2.f}, c(4, 5.f);
  matmulBf16(nullptr, nullptr, c.data(), 1, 2, 2, 0, false, false, bias.data(), Act::Relu, false, 0, 0);
  EXPECT_EQ(c, (std::vector<float>{1.f, 0.f, 1.f, 0.f}));
}

TEST(Bf16Rounding, NearestEvenAndSpecialValues) {
  EXPECT_EQ(toBf16Bits(1.0f), 0x3F80);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  EXPECT_EQ(toBf16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3F80);
  // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up to even.
  EXPECT_EQ(toBf16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);
  EXPECT_EQ(toBf16Bits(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);  // above the tie
  EXPECT_EQ(toBf16Bits(-2.0f), 0xC000);
  EXPECT_EQ(toBf16Bits(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_TRUE(std::isnan(roundToBf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(std::isinf(roundToBf16(std::numeric_limits<float>::max())));  // rounds up past the largest bf16
  // castToBf16 (vectorised, threaded) gives the same bits as the scalar rounding.
  auto x = randomVec(100003, 7, -1e3f, 1e3f);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[6] = -std::numeric_limits<float>::infinity();
  x[7] = 1e-40f;  // a denormal is rounded, not flushed
  std::vector<uint16_t> y(x.size());
  castToBf16(x.data(), y.data(), (int64_t)x.size());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], toBf16Bits(x[i])) << "element " << i;
  EXPECT_NE(y[7], 0);
}

}  // namespace
}  // namespace heed::rt::native::test
