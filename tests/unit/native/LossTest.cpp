// native cross entropy against ref::crossEntropy / crossEntropyGrad.
#include "NativeTestUtil.h"
#include "runtime/Precision.h"
#include "runtime/native/Variants.h"

#include <limits>

namespace heed::rt::native::test {
namespace {

struct CeCase {
  int64_t rows, V;
  float smoothing;
  int64_t ignoreIndex;
};

using FwdFn = float (*)(const float *, const int32_t *, int64_t, int64_t, float, int64_t);
using BwdFn = void (*)(const float *, const int32_t *, float, float *, int64_t, int64_t, float,
                       int64_t);
struct Impl {
  const char *name;
  FwdFn fwd;
  BwdFn bwd;
};
// (The bf16 copy of dlogits is tested apart: Bf16CopyIsTheRoundedGradient.)
const Impl kImpls[] = {{"public", crossEntropyForward,
                        [](const float *x, const int32_t *t, float dl, float *d, int64_t r, int64_t v, float s,
                           int64_t ig) { crossEntropyBackward(x, t, dl, d, r, v, s, ig); }},
                       {"loops", variant::crossEntropyForwardLoops,
                        [](const float *x, const int32_t *t, float dl, float *d, int64_t r, int64_t v, float s,
                           int64_t ig) { variant::crossEntropyBackwardLoops(x, t, dl, d, r, v, s, ig); }},
                       {"onednn", variant::crossEntropyForwardDnnl,
                        variant::crossEntropyBackwardDnnl}};

void runCase(const CeCase &c, std::vector<int32_t> targets = {}) {
  SCOPED_TRACE(testing::Message() << c.rows << "x" << c.V << " s=" << c.smoothing
                                  << " ignore=" << c.ignoreIndex);
  auto x = randomVec(c.rows * c.V, 1, -6.f, 6.f);
  if (targets.empty()) targets = randomIds(c.rows, c.V, 2);
  Tensor xt = tensorOf({c.rows, c.V}, x), tt = Tensor::fromI32({c.rows}, targets);
  const float want = ref::crossEntropy(xt, tt, c.smoothing, c.ignoreIndex).f32()[0];
  const float dloss = 0.75f;
  Tensor gWant = ref::crossEntropyGrad(xt, tt, Tensor::scalarF32(dloss), c.smoothing,
                                       c.ignoreIndex);
  for (const Impl &impl : kImpls) {
    SCOPED_TRACE(impl.name);
    forThreadCounts([&] {
      const float got =
          impl.fwd(x.data(), targets.data(), c.rows, c.V, c.smoothing, c.ignoreIndex);
      EXPECT_LE(std::abs(got - want), 1e-5 * std::max(1.f, std::abs(want)));
      std::vector<float> g(x.size(), 9.f);
      impl.bwd(x.data(), targets.data(), dloss, g.data(), c.rows, c.V, c.smoothing,
               c.ignoreIndex);
      expectClose(g, gWant);
    });
  }
}

TEST(NativeCrossEntropy, MatchesReference) {
  for (int64_t rows : {1, 7, 2048})
    for (int64_t V : {1, 5, 256, 1000})
      for (float s : {0.0f, 0.1f}) runCase({rows, V, s, -1});
}

// The bf16 copy written beside dlogits (a bf16 matmul's input) is dlogits rounded,
// ignored rows included, and dlogits is unchanged; with dlogits null (only bf16
// matmuls read it) the copy alone, the same bits.
TEST(NativeCrossEntropy, Bf16CopyIsTheRoundedGradient) {
  const int64_t rows = 37, V = 300;
  std::vector<float> x = randomVec(rows * V, 3);
  std::vector<int32_t> t(rows);
  for (int64_t i = 0; i < rows; ++i) t[i] = (int32_t)((i * 7) % V);
  t[5] = 2;  // ignored below
  forThreadCounts([&] {
    std::vector<float> d(rows * V), d2(rows * V);
    std::vector<uint16_t> d16(rows * V, 0xFFFF);
    crossEntropyBackward(x.data(), t.data(), 1.5f, d.data(), rows, V, 0.1f, 2);
    crossEntropyBackward(x.data(), t.data(), 1.5f, d2.data(), rows, V, 0.1f, 2, d16.data());
    ASSERT_EQ(d, d2);
    for (size_t i = 0; i < d.size(); ++i) ASSERT_EQ(d16[i], toBf16Bits(d[i])) << i;
    std::vector<uint16_t> alone(rows * V, 0xFFFF);
    crossEntropyBackward(x.data(), t.data(), 1.5f, nullptr, rows, V, 0.1f, 2, alone.data());
    ASSERT_EQ(alone, d16);
  });
}

TEST(NativeCrossEntropy, IgnoreIndex) {
  std::vector<int32_t> t = randomIds(64, 10, 3);
  for (int i = 0; i < 64; i += 3) t[i] = 0;
  runCase({64, 10, 0.0f, 0}, t);
  runCase({64, 10, 0.2f, 0}, t);
  // Every row ignored: loss 0, zero gradient.
  runCase({4, 10, 0.1f, 0}, {0, 0, 0, 0});
  // An ignore index outside [0, V) (PyTorch's -100).
  std::vector<int32_t> u = randomIds(16, 10, 4);
  u[3] = u[9] = -100;
  runCase({16, 10, 0.0f, -100}, u);
}

TEST(NativeCrossEntropy, LargeVocabularyChunks) {
  // More than 2^20 logits: the oneDNN forward works through the rows in chunks.
  runCase({300, 5000, 0.1f, -1});
  runCase({3, 1 << 19, 0.0f, -1});
}

TEST(NativeCrossEntropy, NonFiniteLogitsGiveNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), inf}) {
    std::vector<float> x = randomVec(3 * 4, 5);
    x[4 + 2] = bad;  // row 1
    std::vector<int32_t> t = {0, 1, 2};
    Tensor xt = tensorOf({3, 4}, x), tt = Tensor::fromI32({3}, t);
    auto gWant = valuesOf(ref::crossEntropyGrad(xt, tt, Tensor::scalarF32(1.f), 0.1f, -1));
    ASSERT_TRUE(std::isnan(ref::crossEntropy(xt, tt, 0.1f, -1).f32()[0]));
    for (const Impl &impl : kImpls) {
      SCOPED_TRACE(impl.name);
      EXPECT_TRUE(std::isnan(impl.fwd(x.data(), t.data(), 3, 4, 0.1f, -1)));
      std::vector<float> g(12);
      impl.bwd(x.data(), t.data(), 1.f, g.data(), 3, 4, 0.1f, -1);
      for (int i = 0; i < 12; ++i) EXPECT_EQ(std::isnan(g[i]), std::isnan(gWant[i])) << i;
      expectClose(g, gWant);  // NaN positions must agree; the rest is compared normwise
      // Ignoring the bad row's target makes everything finite again.
      t[1] = 3;
      EXPECT_FALSE(std::isnan(impl.fwd(x.data(), t.data(), 3, 4, 0.1f, 3)));
      t[1] = 1;
    }
  }
}

TEST(NativeCrossEntropy, BadTargetsThrow) {
  for (const Impl &impl : kImpls) {
    SCOPED_TRACE(impl.name);
    std::vector<float> x(2 * 3, 0.f), g(6);
    std::vector<int32_t> t = {1, 3};
    EXPECT_THROW(impl.fwd(x.data(), t.data(), 2, 3, 0.f, -1), Error);
    EXPECT_THROW(impl.bwd(x.data(), t.data(), 1.f, g.data(), 2, 3, 0.f, -1), Error);
    t = {-1, 0};  // -1 is not "ignore" when ignoreIndex == -1
    EXPECT_THROW(impl.fwd(x.data(), t.data(), 2, 3, 0.f, -1), Error);
    EXPECT_THROW(impl.bwd(x.data(), t.data(), 1.f, g.data(), 2, 3, 0.f, -1), Error);
    t = {0, 1};
    EXPECT_THROW(impl.fwd(x.data(), t.data(), 2, 3, 1.5f, -1), Error);
  }
}

}  // namespace
}  // namespace heed::rt::native::test
