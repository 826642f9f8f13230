// native softmax / log-softmax (loops and oneDNN variants) against the reference.
#include "NativeTestUtil.h"
#include "runtime/native/Variants.h"

#include <limits>

namespace heed::rt::native::test {
namespace {

const int64_t kShapes[][2] = {{1, 1}, {3, 7}, {17, 100}, {512, 128}, {8192, 128}, {5, 3001}};

/// Backward oracles in double: softmax dx = y (dy - sum(dy y)); log-softmax dx = dy - e^y sum(dy).
std::vector<float> backwardOracle(const std::vector<float> &y, const std::vector<float> &dy,
                                  int64_t rows, int64_t n, bool log) {
  std::vector<float> dx(y.size());
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += log ? (double)dy[r * n + j] : (double)dy[r * n + j] * y[r * n + j];
    for (int64_t j = 0; j < n; ++j) {
      const double yj = y[r * n + j], dj = dy[r * n + j];
      dx[r * n + j] = (float)(log ? dj - std::exp(yj) * s : yj * (dj - s));
    }
  }
  return dx;
}

using FwdFn = void (*)(const float *, float *, int64_t, int64_t, bool);
using BwdFn = void (*)(const float *, const float *, float *, int64_t, int64_t, bool);

void fwdPublic(const float *x, float *y, int64_t r, int64_t n, bool log) {
  log ? logSoftmaxForward(x, y, r, n) : softmaxForward(x, y, r, n);
}
void bwdPublic(const float *y, const float *dy, float *dx, int64_t r, int64_t n, bool log) {
  log ? logSoftmaxBackward(y, dy, dx, r, n) : softmaxBackward(y, dy, dx, r, n);
}

void checkAll(FwdFn fwd, BwdFn bwd) {
  for (auto &s : kShapes)
    for (bool log : {false, true}) {
      SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1] << (log ? " log" : ""));
      auto x = randomVec(s[0] * s[1], 1, -8.f, 8.f), dy = randomVec(s[0] * s[1], 2);
      Tensor want = log ? ref::logSoftmax(tensorOf({s[0], s[1]}, x), -1)
                        : ref::softmax(tensorOf({s[0], s[1]}, x), -1);
      forThreadCounts([&] {
        std::vector<float> y(x.size());
        fwd(x.data(), y.data(), s[0], s[1], log);
        expectClose(y, want, 1e-5, "forward");
        std::vector<float> dx(x.size());
        bwd(y.data(), dy.data(), dx.data(), s[0], s[1], log);
        expectClose(dx, backwardOracle(y, dy, s[0], s[1], log), 1e-5, "backward");
        // In place.
        std::vector<float> z = x;
        fwd(z.data(), z.data(), s[0], s[1], log);
        expectClose(z, want, 1e-5, "in place");
      });
    }
}

TEST(NativeSoftmax, Public) { checkAll(fwdPublic, bwdPublic); }
TEST(NativeSoftmax, LoopsVariant) {
  checkAll(variant::softmaxForwardLoops, variant::softmaxBackwardLoops);
}
TEST(NativeSoftmax, DnnlVariant) {
  checkAll(variant::softmaxForwardDnnl, variant::softmaxBackwardDnnl);
}

TEST(NativeSoftmax, InfinitiesAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Rows: some -inf entries; all -inf (NaN row, as PyTorch); a NaN entry (NaN row);
  // large logits; a +inf entry (NaN row: inf - inf).
  std::vector<float> x = {0.f, -inf, 1.f,   -inf, -inf,  -inf, -inf,   -inf, 1.f, nan,
                          2.f, 3.f,  100.f, 99.f, -100.f, 50.f, inf, 1.f,  2.f,  3.f};
  for (bool log : {false, true})
    for (int impl = 0; impl < 2; ++impl) {
    SCOPED_TRACE(testing::Message() << (log ? "log " : "") << (impl ? "loops" : "public"));
    Tensor want = log ? ref::logSoftmax(tensorOf({5, 4}, x), -1)
                      : ref::softmax(tensorOf({5, 4}, x), -1);
    std::vector<float> y(20);
    if (impl) variant::softmaxForwardLoops(x.data(), y.data(), 5, 4, log);
    else if (log) logSoftmaxForward(x.data(), y.data(), 5, 4);
    else softmaxForward(x.data(), y.data(), 5, 4);
    auto w = valuesOf(want);
    for (int i = 0; i < 20; ++i) {
      if (std::isnan(w[i])) {
        EXPECT_TRUE(std::isnan(y[i])) << i << (log ? " log" : "");
      } else if (std::isinf(w[i])) {
        EXPECT_EQ(y[i], w[i]) << i;
      } else {
        EXPECT_NEAR(y[i], w[i], 1e-5f * std::max(1.f, std::abs(w[i]))) << i;
      }
    }
  }
}

}  // namespace
}  // namespace heed::rt::native::test
