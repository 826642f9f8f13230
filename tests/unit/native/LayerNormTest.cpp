// native layer norm (loops and oneDNN variants) against ref::layerNorm / layerNormGrad.
#include "NativeTestUtil.h"
#include "runtime/Precision.h"
#include "runtime/native/Variants.h"

namespace heed::rt::native::test {
namespace {

const int64_t kShapes[][2] = {{1, 1}, {3, 7}, {5, 128}, {64, 128}, {129, 333}, {2048, 128},
                              {33, 1000}};

struct LnData {
  int64_t rows, dim;
  std::vector<float> x, gamma, beta, dy;
  Tensor yRef;
  ref::LayerNormGrads gRef;
};

LnData makeData(int64_t rows, int64_t dim, float eps) {
  LnData d{rows, dim, randomVec(rows * dim, 1, -3.f, 5.f), randomVec(dim, 2, 0.5f, 1.5f),
           randomVec(dim, 3), randomVec(rows * dim, 4), {}, {}};
  Tensor x = tensorOf({rows, dim}, d.x), g = tensorOf({dim}, d.gamma);
  d.yRef = ref::layerNorm(x, g, tensorOf({dim}, d.beta), eps);
  d.gRef = ref::layerNormGrad(x, g, tensorOf({rows, dim}, d.dy), eps);
  return d;
}

TEST(NativeLayerNorm, ForwardMatchesReference) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    forThreadCounts([&] {
      std::vector<float> y(d.x.size()), mean(s[0]), rstd(s[0]);
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y.data(), mean.data(),
                       rstd.data(), s[0], s[1], eps);
      expectClose(y, d.yRef);
      // Statistics against a double computation.
      std::vector<float> wantMean(s[0]), wantRstd(s[0]);
      for (int64_t r = 0; r < s[0]; ++r) {
        double m = 0, v = 0;
        for (int64_t j = 0; j < s[1]; ++j) m += d.x[r * s[1] + j];
        m /= s[1];
        for (int64_t j = 0; j < s[1]; ++j) v += (d.x[r * s[1] + j] - m) * (d.x[r * s[1] + j] - m);
        wantMean[r] = (float)m;
        wantRstd[r] = (float)(1.0 / std::sqrt(v / s[1] + eps));
      }
      expectClose(mean, wantMean, 1e-5, "mean");
      expectClose(rstd, wantRstd, 1e-5, "rstd");
      // Without statistics outputs.
      std::vector<float> y2(d.x.size());
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y2.data(), nullptr, nullptr,
                       s[0], s[1], eps);
      expectBitEqual(y2, y);
    });
  }
}

// The bf16 copy written beside y (a bf16 matmul's input) is y rounded, and y is unchanged;
// with y null (only bf16 matmuls read it) the copy alone, the same bits.
TEST(NativeLayerNorm, Bf16CopyIsTheRoundedOutput) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    forThreadCounts([&] {
      std::vector<float> y(d.x.size()), y2(d.x.size());
      std::vector<uint16_t> y16(d.x.size(), 0xFFFF);
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y.data(), nullptr, nullptr, s[0], s[1], eps);
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y2.data(), nullptr, nullptr, s[0], s[1], eps,
                       y16.data());
      ASSERT_EQ(y, y2);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y16[i], toBf16Bits(y[i])) << i;
      std::vector<uint16_t> alone(d.x.size(), 0xFFFF);
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), nullptr, nullptr, nullptr, s[0], s[1], eps,
                       alone.data());
      ASSERT_EQ(alone, y16);
    });
  }
}

// The gradient's bf16 copy (a bf16 matmul reads dx) is dx rounded, written in the
// same pass, with and without the residual sum and the parameter gradients; dx itself
// does not change.
TEST(NativeLayerNorm, Bf16CopyIsTheRoundedInputGradient) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    const std::vector<float> res = randomVec(d.x.size(), 31);
    forThreadCounts([&] {
      for (bool residual : {false, true})
        for (bool params : {true, false}) {
          SCOPED_TRACE(testing::Message() << "residual " << residual << " params " << params);
          std::vector<float> dx(d.x.size()), dx2(d.x.size()), dg(s[1]), db(s[1]);
          std::vector<uint16_t> dx16(d.x.size(), 0xFFFF);
          const float *r = residual ? res.data() : nullptr;
          layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx.data(),
                            params ? dg.data() : nullptr, params ? db.data() : nullptr, s[0], s[1], eps, r);
          layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx2.data(),
                            params ? dg.data() : nullptr, params ? db.data() : nullptr, s[0], s[1], eps, r,
                            dx16.data());
          expectBitEqual(dx, dx2);
          for (size_t i = 0; i < dx.size(); ++i) ASSERT_EQ(dx16[i], toBf16Bits(dx[i])) << i;
        }
    });
  }
}

TEST(NativeLayerNorm, BackwardMatchesReference) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    forThreadCounts([&] {
      std::vector<float> y(d.x.size()), mean(s[0]), rstd(s[0]);
      layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y.data(), mean.data(),
                       rstd.data(), s[0], s[1], eps);
      for (bool saved : {true, false}) {
        SCOPED_TRACE(saved ? "saved stats" : "recomputed stats");
        std::vector<float> dx(d.x.size()), dg(s[1], 7.f), db(s[1], 7.f);
        layerNormBackward(d.x.data(), d.gamma.data(), saved ? mean.data() : nullptr,
                          saved ? rstd.data() : nullptr, d.dy.data(), dx.data(), dg.data(),
                          db.data(), s[0], s[1], eps);
        expectClose(dx, d.gRef.dx, 1e-5, "dx");
        expectClose(dg, d.gRef.dgamma, 1e-5, "dgamma");
        expectClose(db, d.gRef.dbeta, 1e-5, "dbeta");
      }
    });
  }
}

TEST(NativeLayerNorm, BackwardParamGradsOptionalAndDeterministic) {
  LnData d = makeData(300, 96, 1e-5f);
  forThreadCounts([&] {
    std::vector<float> dx1(d.x.size()), dg1(96), db1(96), dx2(d.x.size()), dg2(96), db2(96);
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx1.data(),
                      dg1.data(), db1.data(), 300, 96, 1e-5f);
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx2.data(),
                      dg2.data(), db2.data(), 300, 96, 1e-5f);
    expectBitEqual(dx1, dx2);
    expectBitEqual(dg1, dg2);
    expectBitEqual(db1, db2);
    std::vector<float> dx3(d.x.size());
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx3.data(),
                      nullptr, nullptr, 300, 96, 1e-5f);
    expectBitEqual(dx3, dx1);
  });
}

// With a residual r, dx comes out as r + dx bit for bit (rounded as the two ops
// apart), and the parameter gradients do not change.
TEST(NativeLayerNorm, BackwardResidualIsDxThenAdd) {
  LnData d = makeData(300, 96, 1e-5f);
  auto r = randomVec((int64_t)d.x.size(), 9);
  forThreadCounts([&] {
    std::vector<float> dx(d.x.size()), dg(96), db(96), dxr(d.x.size()), dgr(96), dbr(96);
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx.data(),
                      dg.data(), db.data(), 300, 96, 1e-5f);
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dxr.data(),
                      dgr.data(), dbr.data(), 300, 96, 1e-5f, r.data());
    for (size_t i = 0; i < dx.size(); ++i) dx[i] = r[i] + dx[i];
    expectBitEqual(dxr, dx);
    expectBitEqual(dgr, dg);
    expectBitEqual(dbr, db);
    std::vector<float> dxn(d.x.size());  // without the parameter gradients
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dxn.data(),
                      nullptr, nullptr, 300, 96, 1e-5f, r.data());
    expectBitEqual(dxn, dx);
  });
}

// Rows are split into fixed blocks and the parameter gradients summed block by
// block in order: 1 and 2 threads give the same bits (odd sizes, a partial block).
TEST(NativeLayerNorm, BitIdenticalAcrossThreadCounts) {
  const int64_t R = 1000, D = 129;
  const float eps = 1e-5f;
  LnData d = makeData(R, D, eps);
  auto run = [&](int threads) {
    setThreads(threads);
    std::vector<float> out(R * D + 2 * R + R * D + 2 * D);
    float *y = out.data(), *mean = y + R * D, *rstd = mean + R, *dx = rstd + R, *dg = dx + R * D;
    layerNormForward(d.x.data(), d.gamma.data(), d.beta.data(), y, mean, rstd, R, D, eps);
    layerNormBackward(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(), dx, dg, dg + D,
                      R, D, eps);
    setThreads(0);
    return out;
  };
  const auto one = run(1);
  expectBitEqual(run(2), one);
  expectBitEqual(run(3), one);
}

TEST(NativeLayerNorm, LargeOffsetAndTinyVariance) {
  // Rows with mean 100 and spread 2 (cancellation-prone), and a constant row
  // (variance 0: the output is beta, the gradient runs on eps alone). The
  // statistics are f32, so the error grows like ulp(mean) / std: at mean 1000,
  // spread 1 it is ~1e-4 (the reference works in double throughout).
  const int64_t R = 64, D = 200;
  const float eps = 1e-5f;
  auto x = randomVec(R * D, 9, 98.f, 102.f);
  for (int64_t j = 0; j < D; ++j) x[5 * D + j] = 3.25f;
  auto g = randomVec(D, 2, 0.5f, 1.5f), b = randomVec(D, 3), dy = randomVec(R * D, 4);
  Tensor xt = tensorOf({R, D}, x), gt = tensorOf({D}, g);
  Tensor want = ref::layerNorm(xt, gt, tensorOf({D}, b), eps);
  auto grads = ref::layerNormGrad(xt, gt, tensorOf({R, D}, dy), eps);
  forThreadCounts([&] {
    std::vector<float> y(R * D), mean(R), rstd(R), dx(R * D), dg(D), db(D);
    layerNormForward(x.data(), g.data(), b.data(), y.data(), mean.data(), rstd.data(), R, D, eps);
    expectClose(y, want, 1e-5, "y");
    for (bool saved : {true, false}) {
      layerNormBackward(x.data(), g.data(), saved ? mean.data() : nullptr,
                        saved ? rstd.data() : nullptr, dy.data(), dx.data(), dg.data(),
                        db.data(), R, D, eps);
      expectClose(dx, grads.dx, 1e-5, "dx");
      // dgamma adds R per-row errors of that size: 1.8e-5 when the compiler keeps
      // the f32 sum in another order (the ASan + UBSan build), ~1e-5 in Release.
      expectClose(dg, grads.dgamma, 3e-5, "dgamma");
      expectClose(db, grads.dbeta, 1e-5, "dbeta");
    }
  });
}

TEST(NativeLayerNorm, LoopsVariantMatchesReference) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    forThreadCounts([&] {
      std::vector<float> y(d.x.size()), mean(s[0]), rstd(s[0]);
      variant::layerNormForwardLoops(d.x.data(), d.gamma.data(), d.beta.data(), y.data(),
                                     mean.data(), rstd.data(), s[0], s[1], eps);
      expectClose(y, d.yRef);
      for (bool saved : {true, false}) {
        std::vector<float> dx(d.x.size()), dg(s[1]), db(s[1]);
        variant::layerNormBackwardLoops(d.x.data(), d.gamma.data(), saved ? mean.data() : nullptr,
                                        saved ? rstd.data() : nullptr, d.dy.data(), dx.data(),
                                        dg.data(), db.data(), s[0], s[1], eps);
        expectClose(dx, d.gRef.dx, 1e-5, "dx");
        expectClose(dg, d.gRef.dgamma, 1e-5, "dgamma");
        expectClose(db, d.gRef.dbeta, 1e-5, "dbeta");
      }
    });
  }
  // The loops' parameter gradients use a fixed row partition: identical for any thread count.
  LnData d = makeData(300, 96, eps);
  std::vector<float> dx1(d.x.size()), dg1(96), db1(96), dx2(d.x.size()), dg2(96), db2(96);
  setThreads(1);
  variant::layerNormBackwardLoops(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(),
                                  dx1.data(), dg1.data(), db1.data(), 300, 96, eps);
  setThreads(0);
  variant::layerNormBackwardLoops(d.x.data(), d.gamma.data(), nullptr, nullptr, d.dy.data(),
                                  dx2.data(), dg2.data(), db2.data(), 300, 96, eps);
  expectBitEqual(dx1, dx2);
  expectBitEqual(dg1, dg2);
  expectBitEqual(db1, db2);
}

TEST(NativeLayerNorm, DnnlVariantMatchesReference) {
  const float eps = 1e-5f;
  for (auto &s : kShapes) {
    SCOPED_TRACE(testing::Message() << s[0] << "x" << s[1]);
    LnData d = makeData(s[0], s[1], eps);
    forThreadCounts([&] {
      std::vector<float> y(d.x.size()), mean(s[0]), var(s[0]);
      variant::layerNormForwardDnnl(d.x.data(), d.gamma.data(), d.beta.data(), y.data(),
                                    mean.data(), var.data(), s[0], s[1], eps);
      expectClose(y, d.yRef);
      std::vector<float> dx(d.x.size()), dg(s[1]), db(s[1]);
      variant::layerNormBackwardDnnl(d.x.data(), d.gamma.data(), mean.data(), var.data(),
                                     d.dy.data(), dx.data(), dg.data(), db.data(), s[0], s[1],
                                     eps);
      expectClose(dx, d.gRef.dx, 1e-5, "dx");
      expectClose(dg, d.gRef.dgamma, 1e-5, "dgamma");
      expectClose(db, d.gRef.dbeta, 1e-5, "dbeta");
    });
  }
}

}  // namespace
}  // namespace heed::rt::native::test
