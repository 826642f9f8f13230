// Double-precision (F64) reference kernels: every float kernel family agrees with
// its f32 result on the same inputs, reproduces hand-computed doubles to 1e-12,
// and rejects mixed f32/f64 operands. Plus castTo, and a float64 central
// difference check that f32 could not pass at this tolerance.
#include "TestUtil.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <string>

using namespace heed::rt;
using namespace heed::rt::ref;
using heed::rt::test::randomTensor;

namespace {

Tensor f64(const Tensor &t) { return castTo(t, DType::F64); }

/// An f64 result agrees with the f32 result of the same kernel on the same
/// (f32-representable) inputs: |a - b| <= rel * max(1, |b|).
void expectAgree(const Tensor &r64, const Tensor &r32, double rel = 1e-6,
                 const char *what = "") {
  ASSERT_EQ(r64.dtype(), DType::F64) << what;
  ASSERT_EQ(r32.dtype(), DType::F32) << what;
  ASSERT_EQ(shapeToString(r64.shape()), shapeToString(r32.shape())) << what;
  for (int64_t i = 0; i < r64.size(); ++i) {
    const double b = r32.f32()[i];
    EXPECT_NEAR(r64.f64()[i], b, rel * std::max(1.0, std::fabs(b))) << what << " at " << i;
  }
}

/// An f64 result equals hand-computed doubles to `tol` (absolute).
void expectF64(const Tensor &t, const Shape &shape, const std::vector<double> &want,
               double tol = 1e-12) {
  ASSERT_EQ(t.dtype(), DType::F64);
  ASSERT_EQ(shapeToString(t.shape()), shapeToString(shape));
  ASSERT_EQ((size_t)t.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(t.f64()[i], want[i], tol) << "at flat index " << i;
}

/// Runs f, which must throw an Error whose message contains `op`.
void expectErrorNaming(const std::function<void()> &f, const std::string &op) {
  try {
    f();
    ADD_FAILURE() << "expected an Error naming " << op;
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find(op), std::string::npos) << e.what();
  }
}

}  // namespace

//===--- Tensor / castTo --------------------------------------------------===//

TEST(RuntimeF64, DTypeBasics) {
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_STREQ(dtypeName(DType::F64), "f64");
  EXPECT_EQ((int)DType::F32, 0);  // existing values keep their numbers
  Tensor t(DType::F64, {2, 3});
  EXPECT_EQ(t.bytes(), 48u);
  for (int64_t i = 0; i < t.size(); ++i) EXPECT_EQ(t.f64()[i], 0.0);
  EXPECT_THROW(t.f32(), Error);
  EXPECT_THROW(Tensor::fromF32({1}, {1}).f64(), Error);
  Tensor s = Tensor::scalarF64(0.1);
  EXPECT_EQ(s.f64()[0], 0.1);
  EXPECT_EQ(Tensor::fromF64({2}, {0.1, 0.2}).f64()[1], 0.2);
  EXPECT_THROW(Tensor::fromF64({3}, {0.1, 0.2}), Error);
  Tensor c = Tensor::fromF64({2}, {0.1, 0.2}).clone();
  EXPECT_EQ(c.dtype(), DType::F64);
  EXPECT_EQ(c.f64()[0], 0.1);
}

TEST(RuntimeF64, CastRoundTrip) {
  Tensor x = randomTensor({3, 4}, 7, -5.0f, 5.0f);
  Tensor d = castTo(x, DType::F64);
  ASSERT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.shape(), x.shape());
  for (int64_t i = 0; i < x.size(); ++i) EXPECT_EQ(d.f64()[i], (double)x.f32()[i]);
  Tensor back = castTo(d, DType::F32);
  ASSERT_EQ(back.dtype(), DType::F32);
  EXPECT_EQ(std::memcmp(back.raw(), x.raw(), x.bytes()), 0);

  // f64 -> f32 rounds to nearest.
  Tensor p = castTo(Tensor::fromF64({2}, {0.1, -1e300}), DType::F32);
  EXPECT_EQ(p.f32()[0], 0.1f);
  EXPECT_TRUE(std::isinf(p.f32()[1]) && p.f32()[1] < 0);

  // Same dtype: the same tensor, no copy.
  Tensor same = castTo(x, DType::F32);
  EXPECT_EQ(same.raw(), x.raw());
  EXPECT_EQ(castTo(d, DType::F64).raw(), d.raw());

  // Integers and bools.
  Tensor i = castTo(Tensor::fromF64({3}, {2.9, -2.9, 0.0}), DType::I32);
  EXPECT_EQ(i.i32()[0], 2);
  EXPECT_EQ(i.i32()[1], -2);
  Tensor b = castTo(Tensor::fromF64({3}, {2.9, -2.9, 0.0}), DType::Bool);
  EXPECT_EQ((int)b.b8()[0], 1);
  EXPECT_EQ((int)b.b8()[2], 0);
  Tensor fromI = castTo(Tensor::fromI32({2}, {-3, 16777217}), DType::F64);
  EXPECT_EQ(fromI.f64()[0], -3.0);
  EXPECT_EQ(fromI.f64()[1], 16777217.0);  // not representable in f32
  EXPECT_EQ(castTo(b, DType::F64).f64()[0], 1.0);
  EXPECT_THROW(castTo(Tensor(), DType::F64), Error);
}

//===--- Elementwise ------------------------------------------------------===//

TEST(RuntimeF64, BinaryAgreesAndIsDouble) {
  Tensor a = randomTensor({2, 3, 4}, 1, 0.5f, 2.0f);
  Tensor b = randomTensor({3, 1}, 2, 0.5f, 2.0f);
  for (BinaryKind k : {BinaryKind::Add, BinaryKind::Sub, BinaryKind::Mul, BinaryKind::Div})
    expectAgree(binary(k, f64(a), f64(b)), binary(k, a, b), 1e-6, "binary");
  expectF64(binary(BinaryKind::Add, Tensor::fromF64({2}, {0.1, 1.0}),
                   Tensor::fromF64({2}, {0.2, 1e-13})),
            {2}, {0.30000000000000004, 1.0000000000001}, 0.0);
  expectF64(binary(BinaryKind::Div, Tensor::fromF64({1}, {1.0}), Tensor::scalarF64(3.0)), {1},
            {1.0 / 3.0}, 0.0);
}

TEST(RuntimeF64, CompareAndWhere) {
  Tensor a = randomTensor({4, 5}, 3);
  Tensor b = randomTensor({5}, 4);
  for (CompareKind k : {CompareKind::Eq, CompareKind::Ne, CompareKind::Lt, CompareKind::Le,
                        CompareKind::Gt, CompareKind::Ge}) {
    Tensor c64 = compare(k, f64(a), f64(b)), c32 = compare(k, a, b);
    ASSERT_EQ(c64.dtype(), DType::Bool);
    EXPECT_EQ(std::memcmp(c64.raw(), c32.raw(), c32.bytes()), 0);
  }
  // 1 and 1 + 1e-12 are equal in f32 but not in f64.
  Tensor x = Tensor::fromF64({2}, {1.0, 1.0 + 1e-12});
  Tensor one = Tensor::scalarF64(1.0);
  heed::rt::test::expectBools(compare(CompareKind::Lt, one, x), {2}, {0, 1});
  heed::rt::test::expectBools(compare(CompareKind::Eq, one, x), {2}, {1, 0});

  Tensor cond = compare(CompareKind::Gt, a, b);
  expectAgree(where(cond, f64(a), f64(b)), where(cond, a, b), 0.0, "where");
  Tensor m = compare(CompareKind::Lt, x, Tensor::scalarF64(1.0 + 5e-13));
  expectF64(where(m, Tensor::scalarF64(0.1), Tensor::fromF64({2}, {0.2, 0.3})), {2}, {0.1, 0.3},
            0.0);
}

TEST(RuntimeF64, UnaryAgrees) {
  Tensor x = randomTensor({50}, 5, -3.0f, 3.0f);
  Tensor pos = randomTensor({50}, 6, 0.1f, 4.0f);
  for (UnaryKind k : {UnaryKind::Neg, UnaryKind::Exp, UnaryKind::Tanh, UnaryKind::Relu,
                      UnaryKind::Gelu})
    expectAgree(unary(k, f64(x)), unary(k, x), 1e-6, "unary");
  for (UnaryKind k : {UnaryKind::Log, UnaryKind::Sqrt, UnaryKind::Rsqrt})
    expectAgree(unary(k, f64(pos)), unary(k, pos), 1e-6, "unary");
}

TEST(RuntimeF64, UnaryHandValues) {
  Tensor x = Tensor::fromF64({1}, {1.0});
  expectF64(unary(UnaryKind::Exp, x), {1}, {2.718281828459045});
  expectF64(unary(UnaryKind::Gelu, x), {1}, {0.8413447460685429});  // Phi(1)
  expectF64(unary(UnaryKind::Tanh, Tensor::fromF64({1}, {0.5})), {1}, {0.46211715726000974});
  expectF64(unary(UnaryKind::Log, Tensor::fromF64({1}, {10.0})), {1}, {2.302585092994046});
  expectF64(unary(UnaryKind::Sqrt, Tensor::fromF64({1}, {2.0})), {1}, {1.4142135623730951});
  expectF64(unary(UnaryKind::Rsqrt, Tensor::fromF64({1}, {4.0})), {1}, {0.5});
  expectF64(unary(UnaryKind::Relu, Tensor::fromF64({2}, {-0.1, 0.1})), {2}, {0.0, 0.1}, 0.0);
  expectF64(unary(UnaryKind::Neg, Tensor::fromF64({1}, {0.1})), {1}, {-0.1}, 0.0);
}

TEST(RuntimeF64, GeluGrad) {
  Tensor x = randomTensor({40}, 8, -3.0f, 3.0f);
  Tensor dy = randomTensor({40}, 9);
  expectAgree(geluGrad(f64(x), f64(dy)), geluGrad(x, dy), 1e-6, "gelu_grad");
  // gelu'(1) = Phi(1) + phi(1) = 0.8413447460685429 + 0.24197072451914337.
  expectF64(geluGrad(Tensor::fromF64({1}, {1.0}), Tensor::fromF64({1}, {2.0})), {1},
            {2 * 1.0833154705876864});
}

//===--- Matmul and shape ops ---------------------------------------------===//

TEST(RuntimeF64, Matmul) {
  Tensor a = randomTensor({2, 1, 3, 6}, 10);
  Tensor b = randomTensor({4, 6, 5}, 11);
  // f32 accumulates in f32: K = 6 products of magnitude <= 1.
  expectAgree(matmul(f64(a), f64(b)), matmul(a, b), 2e-6, "matmul");
  Tensor m = Tensor::fromF64({2, 2}, {1, 2, 3, 4});
  Tensor v = Tensor::fromF64({2, 1}, {0.1, 0.2});
  expectF64(matmul(m, v), {2, 1}, {0.5, 1.1});
}

TEST(RuntimeF64, ShapeOps) {
  Tensor x = Tensor::fromF64({2, 3}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6});
  expectF64(transpose(x, {1, 0}), {3, 2}, {0.1, 0.4, 0.2, 0.5, 0.3, 0.6}, 0.0);
  expectF64(reshape(x, {3, 2}), {3, 2}, {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, 0.0);
  expectF64(broadcastTo(Tensor::fromF64({2, 1}, {0.1, 0.2}), {2, 2}), {2, 2},
            {0.1, 0.1, 0.2, 0.2}, 0.0);
  expectF64(sumTo(x, {1, 3}), {1, 3}, {0.5, 0.7, 0.8999999999999999});
  expectF64(sumTo(x, {2, 1}), {2, 1}, {0.6, 1.5});

  Tensor r = randomTensor({3, 4, 5}, 12);
  expectAgree(transpose(f64(r), {2, 0, 1}), transpose(r, {2, 0, 1}), 0.0, "transpose");
  expectAgree(broadcastTo(f64(r), {2, 3, 4, 5}), broadcastTo(r, {2, 3, 4, 5}), 0.0, "broadcast");
  expectAgree(sumTo(f64(r), {4, 1}), sumTo(r, {4, 1}), 1e-6, "sum_to");
  expectAgree(sumTo(f64(r), {}), sumTo(r, {}), 1e-6, "sum_to");
}

//===--- Reductions and softmax -------------------------------------------===//

TEST(RuntimeF64, Reduce) {
  Tensor r = randomTensor({3, 4, 5}, 13);
  for (ReduceKind k : {ReduceKind::Sum, ReduceKind::Mean, ReduceKind::Max})
    for (int64_t ax : {0, 1, -1})
      for (bool keep : {false, true})
        expectAgree(reduce(k, f64(r), ax, keep), reduce(k, r, ax, keep), 1e-6, "reduce");
  Tensor x = Tensor::fromF64({3}, {0.1, 0.2, 0.3});
  expectF64(reduce(ReduceKind::Sum, x, 0, false), {}, {0.6});
  expectF64(reduce(ReduceKind::Mean, x, 0, true), {1}, {0.2});
  expectF64(reduce(ReduceKind::Max, x, 0, false), {}, {0.3}, 0.0);
  Tensor n = reduce(ReduceKind::Max, Tensor::fromF64({2}, {1.0, NAN}), 0, false);
  EXPECT_TRUE(std::isnan(n.f64()[0]));
}

TEST(RuntimeF64, Softmax) {
  Tensor r = randomTensor({3, 4, 5}, 14, -4.0f, 4.0f);
  for (int64_t ax : {0, 1, 2}) {
    expectAgree(softmax(f64(r), ax), softmax(r, ax), 1e-6, "softmax");
    expectAgree(logSoftmax(f64(r), ax), logSoftmax(r, ax), 1e-6, "log_softmax");
  }
  Tensor x = Tensor::fromF64({3}, {1, 2, 3});
  expectF64(softmax(x, 0), {3}, {0.09003057317038046, 0.24472847105479767, 0.6652409557748219});
  expectF64(logSoftmax(x, -1), {3}, {-2.40760596444438, -1.4076059644443801, -0.40760596444438013});
  Tensor ninf = softmax(Tensor::fromF64({2}, {-INFINITY, -INFINITY}), 0);
  EXPECT_TRUE(std::isnan(ninf.f64()[0]));
}

//===--- Embeddings and dropout -------------------------------------------===//

TEST(RuntimeF64, Embedding) {
  Tensor table = randomTensor({5, 3}, 15);
  Tensor ids = Tensor::fromI32({2, 2}, {4, 0, 4, 2});
  expectAgree(gather(f64(table), ids), gather(table, ids), 0.0, "gather");
  Tensor dy = randomTensor({2, 2, 3}, 16);
  expectAgree(scatterAdd(f64(dy), ids, 5), scatterAdd(dy, ids, 5), 1e-6, "scatter_add");

  Tensor t = Tensor::fromF64({2, 2}, {0.1, 0.2, 0.3, 0.4});
  expectF64(gather(t, Tensor::fromI32({1}, {1})), {1, 2}, {0.3, 0.4}, 0.0);
  Tensor d = Tensor::fromF64({3, 1}, {0.1, 0.2, 0.5});
  expectF64(scatterAdd(d, Tensor::fromI32({3}, {1, 1, 0}), 2), {2, 1},
            {0.5, 0.30000000000000004}, 0.0);
}

TEST(RuntimeF64, Sinusoidal) {
  Tensor s32 = sinusoidal(7, 6);
  EXPECT_EQ(s32.dtype(), DType::F32);
  Tensor s64 = sinusoidal(7, 6, DType::F64);
  expectAgree(s64, s32, 1e-7, "sinusoidal");
  expectF64(sinusoidal(2, 4, DType::F64), {2, 4},
            {0, 1, 0, 1, 0.8414709848078965, 0.5403023058681398, 0.009999833334166664,
             0.9999500004166653});
  EXPECT_THROW(sinusoidal(2, 4, DType::I32), Error);
}

TEST(RuntimeF64, DropoutSameMask) {
  Tensor x = randomTensor({200}, 17, 0.5f, 1.5f);  // nonzero, so zeros mark dropped ones
  for (float p : {0.0f, 0.3f, 0.5f, 1.0f}) {
    Tensor d32 = dropout(x, p, 42, 3);
    Tensor d64 = dropout(f64(x), p, 42, 3);
    ASSERT_EQ(d64.dtype(), DType::F64);
    for (int64_t i = 0; i < x.size(); ++i)
      EXPECT_EQ(d64.f64()[i] == 0.0, d32.f32()[i] == 0.0f) << "p " << p << " at " << i;
    expectAgree(d64, d32, 1e-6, "dropout");
  }
  // p = 0.5 keeps x * 2 exactly.
  Tensor y = Tensor::fromF64({64}, std::vector<double>(64, 0.1));
  Tensor dy = dropout(y, 0.5f, 1, 1);
  int kept = 0;
  for (int64_t i = 0; i < dy.size(); ++i) {
    if (dy.f64()[i] != 0.0) {
      EXPECT_EQ(dy.f64()[i], 0.2);
      ++kept;
    }
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, 64);
}

//===--- Layer norm -------------------------------------------------------===//

TEST(RuntimeF64, LayerNormAgrees) {
  Tensor x = randomTensor({4, 7}, 18, -2.0f, 2.0f);
  Tensor g = randomTensor({7}, 19, 0.5f, 1.5f);
  Tensor b = randomTensor({7}, 20);
  Tensor dy = randomTensor({4, 7}, 21);
  expectAgree(layerNorm(f64(x), f64(g), f64(b), 1e-5f), layerNorm(x, g, b, 1e-5f), 1e-6,
              "layer_norm");
  LayerNormGrads g64 = layerNormGrad(f64(x), f64(g), f64(dy), 1e-5f);
  LayerNormGrads g32 = layerNormGrad(x, g, dy, 1e-5f);
  expectAgree(g64.dx, g32.dx, 1e-6, "dx");
  expectAgree(g64.dgamma, g32.dgamma, 1e-6, "dgamma");
  expectAgree(g64.dbeta, g32.dbeta, 1e-6, "dbeta");
}

TEST(RuntimeF64, LayerNormHandValues) {
  // Row [1, 2, 3]: mean 2, biased var 2/3, rstd = sqrt(1.5) = a; xhat = [-a, 0, a].
  const double a = 1.224744871391589;
  // Row [-1, 0, 1] has the same xhat. gamma = [1, 2, 0.5], beta = [0.1, 0, -0.1], eps = 0.
  Tensor x = Tensor::fromF64({2, 3}, {1, 2, 3, -1, 0, 1});
  Tensor g = Tensor::fromF64({3}, {1, 2, 0.5});
  Tensor b = Tensor::fromF64({3}, {0.1, 0, -0.1});
  expectF64(layerNorm(x, g, b, 0.0f), {2, 3},
            {-1.1247448713915889, 0.0, 0.5123724356957945, -1.1247448713915889, 0.0,
             0.5123724356957945});

  // dy = [1, 0, 0], gamma = 1: dx = a * [1/6, -1/3, 1/6], dgamma = [-a, 0, 0], dbeta = [1, 0, 0].
  Tensor x1 = Tensor::fromF64({1, 3}, {1, 2, 3});
  LayerNormGrads lg = layerNormGrad(x1, Tensor::fromF64({3}, {1, 1, 1}),
                                    Tensor::fromF64({1, 3}, {1, 0, 0}), 0.0f);
  expectF64(lg.dx, {1, 3}, {0.20412414523193148, -0.40824829046386296, 0.20412414523193148});
  expectF64(lg.dgamma, {3}, {-a, 0, 0});
  expectF64(lg.dbeta, {3}, {1, 0, 0}, 0.0);
}

//===--- Loss -------------------------------------------------------------===//

TEST(RuntimeF64, CrossEntropyAgrees) {
  Tensor logits = randomTensor({2, 3, 6}, 22, -3.0f, 3.0f);
  Tensor t = Tensor::fromI32({2, 3}, {0, 5, -100, 2, 3, 1});
  for (float s : {0.0f, 0.1f}) {
    expectAgree(crossEntropy(f64(logits), t, s, -100), crossEntropy(logits, t, s, -100), 1e-6,
                "cross_entropy");
    expectAgree(crossEntropyGrad(f64(logits), t, Tensor::scalarF64(0.7), s, -100),
                crossEntropyGrad(logits, t, Tensor::scalarF32(0.7f), s, -100), 1e-6,
                "cross_entropy_grad");
  }
}

TEST(RuntimeF64, CrossEntropyHandValues) {
  // Row 0: [1, 2, 3] target 2: -log p[2] = lse - 3, mean_c(-log p[c]) = lse - 2,
  //   lse = 3.4076059644443806; smoothing 0.25 gives 0.75 (lse - 3) + 0.25 (lse - 2).
  // Row 1: [1, 1, 1] target 0: log 3. Row 2 ignored.
  Tensor logits = Tensor::fromF64({3, 3}, {1, 2, 3, 1, 1, 1, 0, 0, 5});
  Tensor t = Tensor::fromI32({3}, {2, 0, -100});
  Tensor l = crossEntropy(logits, t, 0.25f, -100);
  expectF64(l, {}, {0.8781091265562452});

  // Gradient of row 0 alone, dloss = 2, count 1: 2 (softmax - 0.25/3 - 0.75 [c == 2]).
  Tensor g = crossEntropyGrad(Tensor::fromF64({1, 3}, {1, 2, 3}), Tensor::fromI32({1}, {2}),
                              Tensor::scalarF64(2.0), 0.25f, -1);
  expectF64(g, {1, 3}, {0.013394479674094212, 0.3227902754429285, -0.3361847551170234});

  Tensor none = crossEntropy(logits, Tensor::fromI32({3}, {-100, -100, -100}), 0.25f, -100);
  expectF64(none, {}, {0.0}, 0.0);
}

//===--- Mixing f32 and f64 -----------------------------------------------===//

TEST(RuntimeF64, MixingThrows) {
  Tensor a32 = Tensor::fromF32({2, 2}, {1, 2, 3, 4});
  Tensor a64 = f64(a32);
  Tensor v32 = Tensor::fromF32({2}, {1, 2});
  Tensor v64 = f64(v32);
  Tensor ids = Tensor::fromI32({2}, {0, 1});
  Tensor mask = Tensor(DType::Bool, {2, 2});
  expectErrorNaming([&] { binary(BinaryKind::Add, a32, a64); }, "add");
  expectErrorNaming([&] { binary(BinaryKind::Div, a64, v32); }, "div");
  expectErrorNaming([&] { compare(CompareKind::Lt, a64, a32); }, "lt");
  expectErrorNaming([&] { where(mask, a32, a64); }, "where");
  expectErrorNaming([&] { geluGrad(a64, a32); }, "gelu_grad");
  expectErrorNaming([&] { matmul(a32, a64); }, "matmul");
  expectErrorNaming([&] { matmul(a64, a32); }, "matmul");
  expectErrorNaming([&] { layerNorm(a64, v32, v64, 1e-5f); }, "layer_norm");
  expectErrorNaming([&] { layerNorm(a64, v64, v32, 1e-5f); }, "layer_norm");
  expectErrorNaming([&] { layerNormGrad(a64, v64, a32, 1e-5f); }, "layer_norm_grad");
  expectErrorNaming([&] { layerNormGrad(a32, v64, a32, 1e-5f); }, "layer_norm_grad");
  expectErrorNaming([&] { crossEntropyGrad(a64, ids, Tensor::scalarF32(1), 0, -1); },
                    "cross_entropy_grad");
  expectErrorNaming([&] { crossEntropyGrad(a32, ids, Tensor::scalarF64(1), 0, -1); },
                    "cross_entropy_grad");
  // Non-float operands still throw, naming the op.
  expectErrorNaming([&] { softmax(ids, 0); }, "softmax");
  expectErrorNaming([&] { reduce(ReduceKind::Sum, ids, 0, false); }, "sum");
  expectErrorNaming([&] { gather(ids.reshaped({1, 2}), ids); }, "gather");
  // The optimizer kernels stay f32-only.
  Tensor p64 = v64.clone();
  EXPECT_THROW(sgdUpdate(p64, v64, 0.1f), Error);
}

//===--- Why f64: central differences at a tight tolerance ----------------===//

namespace {
/// sum(f(x) * w) with central differences in x (perturbed in place), f64.
std::vector<double> numericGrad64(Tensor &x, double h, const std::function<double()> &f) {
  std::vector<double> g((size_t)x.size());
  for (int64_t i = 0; i < x.size(); ++i) {
    const double orig = x.f64()[i];
    x.f64()[i] = orig + h;
    const double up = f();
    x.f64()[i] = orig - h;
    const double down = f();
    x.f64()[i] = orig;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

double dot64(const Tensor &a, const Tensor &w) {
  double s = 0;
  for (int64_t i = 0; i < a.size(); ++i) s += a.f64()[i] * w.f64()[i];
  return s;
}
}  // namespace

TEST(RuntimeF64, GradCheckLayerNormAndLossTight) {
  Tensor x = f64(randomTensor({3, 5}, 23, -2.0f, 2.0f));
  Tensor gamma = f64(randomTensor({5}, 24, 0.5f, 1.5f));
  Tensor beta = f64(randomTensor({5}, 25));
  Tensor w = f64(randomTensor({3, 5}, 26));
  LayerNormGrads lg = layerNormGrad(x, gamma, w, 1e-5f);
  auto num = numericGrad64(x, 1e-5, [&] { return dot64(layerNorm(x, gamma, beta, 1e-5f), w); });
  for (int64_t i = 0; i < x.size(); ++i)
    EXPECT_NEAR(lg.dx.f64()[i], num[i], 1e-8 * (1 + std::fabs(num[i]))) << "dx at " << i;

  Tensor logits = f64(randomTensor({4, 6}, 27, -3.0f, 3.0f));
  Tensor t = Tensor::fromI32({4}, {1, 5, -100, 0});
  Tensor g = crossEntropyGrad(logits, t, Tensor::scalarF64(1.0), 0.1f, -100);
  auto numL = numericGrad64(
      logits, 1e-5, [&] { return crossEntropy(logits, t, 0.1f, -100).f64()[0]; });
  for (int64_t i = 0; i < logits.size(); ++i)
    EXPECT_NEAR(g.f64()[i], numL[i], 1e-9) << "dlogits at " << i;
}
