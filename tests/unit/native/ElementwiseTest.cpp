// native dropout, adam, sumSquares, scale and gelu against the reference.
#include "NativeTestUtil.h"
#include "runtime/RunContext.h"
#include "runtime/Precision.h"
#include "runtime/native/Bf16.h"
#include "runtime/native/Variants.h"
#include "runtime/train/Optimizer.h"

namespace heed::rt::native::test {
namespace {

TEST(NativeDropout, BitExact) {
  for (int64_t n : {1, 13, 1000, 300001})
    for (float p : {0.0f, 0.1f, 0.5f, 0.9f, 1.0f}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " p=" << p);
      auto x = randomVec(n, 1);
      Tensor want = ref::dropout(tensorOf({n}, x), p, 42, 17);
      forThreadCounts([&] {
        std::vector<float> y(n, 3.f);
        dropout(x.data(), y.data(), n, p, 42, 17);
        expectBitEqual(y, valuesOf(want));
        std::vector<float> z = x;  // in place
        dropout(z.data(), z.data(), n, p, 42, 17);
        expectBitEqual(z, valuesOf(want));
      });
    }
}

// The mask is one 64-bit compare against ceil(p 2^24) << 40: p on and between
// the 2^-24 grid, and tiny p, keep exactly the reference's elements.
TEST(NativeDropout, BitExactAtGridProbabilities) {
  const int64_t n = 1 << 16;
  auto x = randomVec(n, 3);
  for (float p : {0x1p-24f, 3 * 0x1p-24f, 3.5f * 0x1p-24f, 1e-30f, 0.25f, 0.5f + 0x1p-24f,
                  1.0f - 0x1p-24f}) {
    SCOPED_TRACE(testing::Message() << "p=" << p);
    std::vector<float> y(n);
    dropout(x.data(), y.data(), n, p, 7, 3);
    expectBitEqual(y, valuesOf(ref::dropout(tensorOf({n}, x), p, 7, 3)));
  }
}

// With a residual r, y = r + dropout(x) in one pass, bit for bit the reference's
// dropout then add (the product rounded before the sum), also in place over x or r.
TEST(NativeDropout, ResidualIsDropoutThenAdd) {
  for (int64_t n : {1, 13, 4097, 300001})
    for (float p : {0.0f, 0.1f, 0.5f, 1.0f}) {
      SCOPED_TRACE(testing::Message() << "n=" << n << " p=" << p);
      auto x = randomVec(n, 1), r = randomVec(n, 2);
      Tensor want = ref::binary(ref::BinaryKind::Add, ref::dropout(tensorOf({n}, x), p, 42, 17, 5),
                                tensorOf({n}, r));
      forThreadCounts([&] {
        std::vector<float> y(n, 3.f);
        dropout(x.data(), y.data(), n, p, 42, 17, 5, r.data());
        expectBitEqual(y, valuesOf(want));
        std::vector<float> z = x, w = r;
        dropout(z.data(), z.data(), n, p, 42, 17, 5, r.data());
        expectBitEqual(z, valuesOf(want));
        dropout(x.data(), w.data(), n, p, 42, 17, 5, w.data());
        expectBitEqual(w, valuesOf(want));
      });
    }
}

// A slice of a batch (micro-batches, data-parallel ranks) draws the whole batch's
// masks: rows [r0, r0 + rows) of dropout(x) are dropout(those rows of x) with the
// index offset of row r0, on the reference and the native kernel.
TEST(NativeDropout, SliceOfBatchDrawsTheWholeBatchsMasks) {
  const int64_t batch = 8, row = 37, rows = 2, r0 = 4;
  auto x = randomVec(batch * row, 3);
  Tensor whole = ref::dropout(tensorOf({batch, row}, x), 0.3f, 42, 5);
  std::vector<float> part(x.begin() + r0 * row, x.begin() + (r0 + rows) * row);
  RunContext ctx;
  ctx.rowOffset = r0;
  ctx.sliceRows = rows;
  const uint64_t off = ctx.dropoutIndexOffset(rows * row);
  EXPECT_EQ(off, (uint64_t)(r0 * row));
  const std::vector<float> all = valuesOf(whole);
  std::vector<float> want(all.begin() + r0 * row, all.begin() + (r0 + rows) * row);
  expectBitEqual(valuesOf(ref::dropout(tensorOf({rows, row}, part), 0.3f, 42, 5, off)), want);
  forThreadCounts([&] {
    std::vector<float> y(part.size());
    dropout(part.data(), y.data(), (int64_t)part.size(), 0.3f, 42, 5, off);
    expectBitEqual(y, want);
  });
  // A tensor that does not divide into the slice's rows cannot be placed.
  EXPECT_THROW(ctx.dropoutIndexOffset(rows * row + 1), Error);
  RunContext whole0;
  EXPECT_EQ(whole0.dropoutIndexOffset(13), 0u);
}

TEST(NativeDropout, SeedAndStepMatter) {
  auto x = randomVec(4096, 1);
  std::vector<float> a(4096), b(4096), c(4096);
  dropout(x.data(), a.data(), 4096, 0.5f, 1, 1);
  dropout(x.data(), b.data(), 4096, 0.5f, 1, 2);
  dropout(x.data(), c.data(), 4096, 0.5f, 2, 1);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  expectBitEqual(b, valuesOf(ref::dropout(tensorOf({4096}, x), 0.5f, 1, 2)));
  expectBitEqual(c, valuesOf(ref::dropout(tensorOf({4096}, x), 0.5f, 2, 1)));
}

TEST(NativeDropout, BadProbabilityThrows) {
  float x = 1.f, y;
  EXPECT_THROW(dropout(&x, &y, 1, -0.1f, 0, 0), Error);
  EXPECT_THROW(dropout(&x, &y, 1, 1.5f, 0, 0), Error);
}

TEST(NativeAdam, MatchesReference) {
  for (int64_t n : {1, 17, 100000})
    for (float wd : {0.0f, 0.01f}) {
      auto p0 = randomVec(n, 1), m0 = randomVec(n, 2, -0.1f, 0.1f), v0 = randomVec(n, 3, 0.f, 0.01f);
      auto g = randomVec(n, 4);
      for (int64_t step : {1, 2, 1000}) {
        Tensor p = tensorOf({n}, p0), m = tensorOf({n}, m0), v = tensorOf({n}, v0);
        ref::adamUpdate(p, m, v, tensorOf({n}, g), 1e-3f, 0.9f, 0.999f, 1e-8f, wd, step);
        forThreadCounts([&] {
          auto pp = p0, mm = m0, vv = v0;
          adam(pp.data(), mm.data(), vv.data(), g.data(), n, 1e-3f, 0.9f, 0.999f, 1e-8f, wd,
               step);
          // Bit for bit: no contraction, exact-rounded div and sqrt in any width.
          expectBitEqual(pp, valuesOf(p));
          expectBitEqual(mm, valuesOf(m));
          expectBitEqual(vv, valuesOf(v));
        });
      }
    }
  float p = 0, m = 0, v = 0, g = 0;
  EXPECT_THROW(adam(&p, &m, &v, &g, 1, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.f, 0), Error);
}

// The compiled backend's optimizer step (applyUpdate with these kernels) against
// the reference loops: the same parameters and moments, clipped or not, with
// coupled (adam + weight_decay) or decoupled (adamw) decay. The batched kernels
// (adamAll, sumSquaresAll: one pass, clip and decay folded in) give the bits of
// the per-tensor ones (a clipped, decayed copy, then adam), at any thread count.
TEST(NativeAdam, ApplyUpdateWithNativeKernels) {
  UpdateKernels perTensor;
  perTensor.adam = adam;
  perTensor.sumSquares = sumSquares;
  perTensor.scale = scale;
  UpdateKernels batched = perTensor;
  batched.adamAll = adamAll;
  batched.sumSquaresAll = sumSquaresAll;
  auto vec = [](const Tensor &t) { return std::vector<float>(t.f32(), t.f32() + t.size()); };
  for (float clip : {0.0f, 1.0f})
    for (int config = 0; config < 3; ++config) {
      SCOPED_TRACE(testing::Message() << "clip " << clip << " config " << config);
      ParamStore ref, one, all1, all2;
      for (ParamStore *s : {&ref, &one, &all1, &all2}) {
        s->add("w", {300, 70}).value = tensorOf({300, 70}, randomVec(21000, 7));
        s->add("bias", {70}).value = tensorOf({70}, randomVec(70, 8));
        s->add("big", {70000}).value = tensorOf({70000}, randomVec(70000, 9));
      }
      OptimizerConfig oc;
      oc.kind = config == 2 ? "adamw" : "adam";
      if (config == 1) oc.weightDecay = 0.05f;  // coupled: added to the gradient
      oc.clip = clip;
      for (int64_t step = 1; step <= 3; ++step) {
        std::vector<std::pair<std::string, Tensor>> g = {
            {"w", tensorOf({300, 70}, randomVec(21000, 10 + step))},
            {"bias", tensorOf({70}, randomVec(70, 20 + step))},
            {"big", tensorOf({70000}, randomVec(70000, 30 + step))}};
        const float na = applyUpdate(ref, g, oc, 1e-3f, step);
        const float nb = applyUpdate(one, g, oc, 1e-3f, step, &perTensor);
        setThreads(1);
        const float n1 = applyUpdate(all1, g, oc, 1e-3f, step, &batched);
        setThreads(2);
        const float n2 = applyUpdate(all2, g, oc, 1e-3f, step, &batched);
        setThreads(0);
        EXPECT_NEAR(na, nb, 1e-5f * na) << "step " << step;
        EXPECT_EQ(n1, nb);
        EXPECT_EQ(n2, nb);
        ASSERT_GT(na, 1.0f) << "the clip = 1 case must clip";
      }
      for (const char *name : {"w", "bias", "big"}) {
        SCOPED_TRACE(name);
        const Param &pa = ref.get(name), &pb = one.get(name);
        expectClose(vec(pb.value), pa.value, 1e-6, name);
        expectClose(vec(pb.m), pa.m, 1e-6, name);
        expectClose(vec(pb.v), pa.v, 1e-6, name);
        for (ParamStore *s : {&all1, &all2}) {
          const Param &pc = s->get(name);
          expectBitEqual(vec(pc.value), vec(pb.value));
          expectBitEqual(vec(pc.m), vec(pb.m));
          expectBitEqual(vec(pc.v), vec(pb.v));
        }
      }
    }
}

// A bf16 run's weight shadows (runtime/native/Bf16.h) are rewritten by the update
// itself: after applyUpdate with bf16Shadow, every shadow is the bf16 rounding of the
// new values, bit for bit what the param op's rounding pass would write, and the
// parameters and moments are those of an update without shadows; a parameter without
// a shadow gets none, and shadowsCurrent says whether the shadows were refreshed.
TEST(NativeAdam, UpdateRewritesTheBf16Shadows) {
  UpdateKernels plain;
  plain.adam = adam;
  plain.sumSquares = sumSquares;
  plain.scale = scale;
  plain.adamAll = adamAll;
  plain.sumSquaresAll = sumSquaresAll;
  UpdateKernels shadowed = plain;
  shadowed.bf16Shadow = bf16ShadowOf;
  auto vec = [](const Tensor &t) { return std::vector<float>(t.f32(), t.f32() + t.size()); };
  for (int threads : {1, 2}) {
    SCOPED_TRACE(testing::Message() << threads << " threads");
    setThreads(threads);
    clearMatmulBf16Cache();
    ParamStore a, b;
    for (ParamStore *s : {&a, &b}) {
      s->add("w", {300, 70}).value = tensorOf({300, 70}, randomVec(21000, 7));
      s->add("big", {70000}).value = tensorOf({70000}, randomVec(70000, 9));
      s->add("noShadow", {70}).value = tensorOf({70}, randomVec(70, 8));
    }
    for (const char *name : {"w", "big"}) writeBf16Shadow(b.get(name).value.f32(), b.get(name).value.size());
    OptimizerConfig oc;
    oc.clip = 1.0f;
    for (int64_t step = 1; step <= 3; ++step) {
      std::vector<std::pair<std::string, Tensor>> g = {{"w", tensorOf({300, 70}, randomVec(21000, 10 + step))},
                                                       {"big", tensorOf({70000}, randomVec(70000, 30 + step))},
                                                       {"noShadow", tensorOf({70}, randomVec(70, 20 + step))}};
      bool currentA = true, currentB = false;
      applyUpdate(a, g, oc, 1e-3f, step, &plain, &currentA);
      applyUpdate(b, g, oc, 1e-3f, step, &shadowed, &currentB);
      EXPECT_FALSE(currentA);
      EXPECT_TRUE(currentB);
      for (const char *name : {"w", "big"}) {
        SCOPED_TRACE(name);
        const Tensor &x = b.get(name).value;
        expectBitEqual(vec(x), vec(a.get(name).value));
        expectBitEqual(vec(b.get(name).m), vec(a.get(name).m));
        const uint16_t *shadow = bf16ShadowOf(x.f32(), x.size());
        ASSERT_NE(shadow, nullptr);
        int64_t wrong = 0;
        for (int64_t i = 0; i < x.size(); ++i) wrong += shadow[i] != toBf16Bits(x.f32()[i]);
        EXPECT_EQ(wrong, 0) << "of " << x.size();
      }
      EXPECT_EQ(bf16ShadowOf(b.get("noShadow").value.f32(), 70), nullptr);
    }
  }
  setThreads(0);
  clearMatmulBf16Cache();
}

TEST(NativeAdam, SumSquaresAllIsTheSumOfSumSquares) {
  std::vector<std::vector<float>> xs;
  for (int64_t n : {0, 1, 300, 16384, 16385, 100000}) xs.push_back(randomVec(n, 40 + n));
  std::vector<const float *> ptrs;
  std::vector<int64_t> ns;
  double want = 0;
  for (auto &x : xs) {
    ptrs.push_back(x.data());
    ns.push_back((int64_t)x.size());
    want += sumSquares(x.data(), (int64_t)x.size());
  }
  forThreadCounts([&] { EXPECT_EQ(sumSquaresAll(ptrs.data(), ns.data(), (int64_t)ptrs.size()), want); });
}

TEST(NativeAdam, SumSquaresAndScale) {
  for (int64_t n : {0, 1, 255, 257, 100000, 1 << 20}) {
    auto x = randomVec(n, 5);
    Tensor xt = tensorOf({n}, x);
    const float norm = ref::globalNorm({&xt});
    double want = 0;
    for (float f : x) want += (double)f * f;
    double got1 = 0, got2 = 0;
    setThreads(1);
    got1 = sumSquares(x.data(), n);
    setThreads(0);
    got2 = sumSquares(x.data(), n);
    EXPECT_EQ(got1, got2) << "thread-count independent";
    EXPECT_LE(std::abs(got2 - want), 1e-6 * std::max(1.0, want));
    EXPECT_LE(std::abs((float)std::sqrt(got2) - norm), 1e-5f * std::max(1.f, norm));
    auto y = x;
    scale(y.data(), n, 0.5f);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] * 0.5f);
  }
}

using GeluFwd = void (*)(const float *, float *, int64_t);
using GeluBwd = void (*)(const float *, const float *, float *, int64_t);

void checkGelu(GeluFwd fwd, GeluBwd bwd) {
  for (int64_t n : {1, 7, 1000, 262144}) {
    auto x = randomVec(n, 6, -6.f, 6.f), dy = randomVec(n, 7);
    Tensor want = ref::unary(ref::UnaryKind::Gelu, tensorOf({n}, x));
    Tensor gWant = ref::geluGrad(tensorOf({n}, x), tensorOf({n}, dy));
    // oneDNN's gelu_erf is accurate to ~1e-7 absolute, which is a large relative
    // error in the far negative tail (|gelu(-5)| ~ 1e-6): over whole vectors the
    // normwise error is ~1e-7, but a lone tail element is checked absolutely.
    auto expectElementwise = [](const std::vector<float> &got, const Tensor &w) {
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], w.f32()[i], 1e-6f + 1e-5f * std::abs(w.f32()[i])) << i;
    };
    forThreadCounts([&] {
      std::vector<float> y(n), dx(n);
      fwd(x.data(), y.data(), n);
      bwd(x.data(), dy.data(), dx.data(), n);
      expectElementwise(y, want);
      expectElementwise(dx, gWant);
      if (n >= 7) {
        expectClose(y, want, 1e-5, "forward");
        expectClose(dx, gWant, 1e-5, "backward");
      }
    });
  }
}

TEST(NativeGelu, Public) { checkGelu(geluForward, geluBackward); }
TEST(NativeGelu, LoopsVariant) { checkGelu(variant::geluForwardLoops, variant::geluBackwardLoops); }
TEST(NativeGelu, DnnlVariant) { checkGelu(variant::geluForwardDnnl, variant::geluBackwardDnnl); }

}  // namespace
}  // namespace heed::rt::native::test
