//===- LibraryOpTest.cpp - library-call descriptors and plans, no MLIR ----===//

#include "runtime/Random.h"
#include "runtime/compiled/Bf16Inputs.h"
#include "runtime/compiled/Executor.h"
#include "runtime/compiled/LibraryOp.h"
#include "runtime/kernels/Reference.h"
#include "runtime/native/Bf16.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include <cmath>

namespace heed::rt {
namespace {

Tensor randn(Shape s, uint64_t stream) {
  Tensor t(DType::F32, std::move(s));
  for (int64_t i = 0; i < t.size(); ++i) t.f32()[i] = normal(11, stream, i);
  return t;
}

double maxDiff(const Tensor &a, const Tensor &b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0;
  for (int64_t i = 0; i < a.size(); ++i) {
    const double e = std::fabs((double)a.f32()[i] - (double)b.f32()[i]);
    if (std::isnan(e)) return INFINITY;  // std::max would drop it: an unwritten (poisoned) element
    d = std::max(d, e);
  }
  return d;
}

LibraryOp op(LibraryOp::Kind k, Shape result) {
  LibraryOp o;
  o.kind = k;
  o.resultTypes = {DType::F32};
  o.resultShapes = {std::move(result)};
  return o;
}

TEST(LibraryOp, JsonRoundTripKeepsEveryAttribute) {
  LibraryOp o = op(LibraryOp::Kind::CrossEntropyGrad, {4, 7});
  o.smoothing = 0.1f;
  o.ignoreIndex = 3;
  o.location = "m.heed:1:2: ";
  LibraryOp back = libraryOpFromJson(nlohmann::json::parse(toJson(o).dump()));
  EXPECT_EQ(back.kind, o.kind);
  EXPECT_EQ(back.smoothing, o.smoothing);
  EXPECT_EQ(back.ignoreIndex, 3);
  EXPECT_EQ(back.resultShapes, o.resultShapes);
  EXPECT_EQ(back.location, o.location);

  LibraryOp d = op(LibraryOp::Kind::Dropout, {3});
  d.p = 0.1f;
  d.seed = 42;
  back = libraryOpFromJson(toJson(d));
  EXPECT_EQ(back.p, 0.1f);
  EXPECT_EQ(back.seed, 42);

  LibraryOp m = op(LibraryOp::Kind::OptimizerStep, {});
  m.resultTypes.clear();
  m.resultShapes.clear();
  m.names = {"a", "b.c"};
  EXPECT_EQ(libraryOpFromJson(toJson(m)).names, m.names);
  EXPECT_THROW(libraryOpFromJson(nlohmann::json{{"kind", "conv"}, {"results", nlohmann::json::array()}}), Error);
}

TEST(LibraryOp, TransposedMatmulMatchesReference) {
  RunContext ctx;
  Tensor a = randn({2, 3, 5, 4}, 1), b = randn({2, 3, 5, 6}, 2);  // a^T @ b -> [2, 3, 4, 6]
  LibraryOp m = op(LibraryOp::Kind::Matmul, {2, 3, 4, 6});
  m.transposeLhs = true;
  std::vector<Tensor> out;
  runLibraryOp(m, {a, b}, out, ctx);
  Tensor want = ref::matmul(ref::transpose(a, {0, 1, 3, 2}), b);
  EXPECT_LT(maxDiff(out[0], want), 1e-5);
  // Broadcast in both operands: the reference fallback.
  Tensor c = randn({2, 1, 4, 5}, 3), e = randn({1, 3, 5, 6}, 4);
  runLibraryOp(op(LibraryOp::Kind::Matmul, {2, 3, 4, 6}), {c, e}, out, ctx);
  EXPECT_LT(maxDiff(out[0], ref::matmul(c, e)), 1e-5);
}

TEST(LibraryOp, SoftmaxGradMatchesReference) {
  RunContext ctx;
  Tensor y = ref::softmax(randn({3, 4, 8}, 5), -1), dy = randn({3, 4, 8}, 6);
  for (int64_t axis : {-1, 1}) {
    LibraryOp s = op(LibraryOp::Kind::SoftmaxGrad, {3, 4, 8});
    s.axis = axis;
    std::vector<Tensor> out;
    runLibraryOp(s, {y, dy}, out, ctx);
    Tensor dot = ref::reduce(ref::ReduceKind::Sum, ref::binary(ref::BinaryKind::Mul, dy, y), axis, true);
    Tensor want = ref::binary(ref::BinaryKind::Mul, y, ref::binary(ref::BinaryKind::Sub, dy, dot));
    EXPECT_LT(maxDiff(out[0], want), 1e-5) << "axis " << axis;
  }
}

TEST(LibraryOp, MatmulEpiloguesMatchReference) {
  // [2, 5, 6] @ [6, 7] + bias[7], then relu or gelu: the shared-weight GEMM path;
  // [2, 5, 6] @ [2, 6, 7] the batched one.
  Tensor a = randn({2, 5, 6}, 1), w = randn({6, 7}, 2), wb = randn({2, 6, 7}, 3), bias = randn({7}, 4);
  for (const char *act : {"", "relu", "gelu"}) {
    for (const Tensor *b : {&w, &wb}) {
      SCOPED_TRACE(std::string(act) + (b == &w ? " shared weight" : " batched"));
      LibraryOp o = op(LibraryOp::Kind::Matmul, {2, 5, 7});
      o.bias = true;
      o.act = act;
      o = libraryOpFromJson(nlohmann::json::parse(toJson(o).dump()));
      EXPECT_TRUE(o.bias);
      EXPECT_EQ(o.act, act);
      RunContext ctx;
      std::vector<Tensor> out;
      runLibraryOp(o, {a, *b, bias}, out, ctx);
      Tensor want = ref::binary(ref::BinaryKind::Add, ref::matmul(a, *b), bias);
      if (o.act == "relu") want = ref::unary(ref::UnaryKind::Relu, want);
      if (o.act == "gelu") want = ref::unary(ref::UnaryKind::Gelu, want);
      EXPECT_LT(maxDiff(out[0], want), 1e-5);
    }
  }
  LibraryOp bad = op(LibraryOp::Kind::Matmul, {2, 5, 7});
  bad.bias = true;
  bad.act = "tanh";
  RunContext ctx;
  std::vector<Tensor> out;
  EXPECT_THROW(runLibraryOp(bad, {a, w, bias}, out, ctx), Error);
}

TEST(LibraryOp, MatmulResidualEpilogueMatchesReference) {
  // act(a @ b + bias) + r with r of the result's shape (the sum post-op), on the
  // shared-weight, batched and transposed paths, with and without a bias; r is
  // only read.
  Tensor a = randn({2, 5, 6}, 1), w = randn({6, 7}, 2), wb = randn({2, 6, 7}, 3), bias = randn({7}, 4);
  Tensor r = randn({2, 5, 7}, 5), wt = ref::transpose(w, {1, 0});
  std::vector<float> r0(r.f32(), r.f32() + r.size());
  for (bool withBias : {false, true})
    for (const char *act : {"", "relu"})
      for (const Tensor *b : {&w, &wb, &wt}) {
        if (!withBias && *act) continue;
        SCOPED_TRACE(std::string(act) + (withBias ? " bias" : "") +
                     (b == &w ? " shared weight" : b == &wb ? " batched" : " transposed"));
        LibraryOp o = op(LibraryOp::Kind::Matmul, {2, 5, 7});
        o.bias = withBias;
        o.act = act;
        o.residual = true;
        o.transposeRhs = b == &wt;
        o = libraryOpFromJson(nlohmann::json::parse(toJson(o).dump()));
        EXPECT_TRUE(o.residual);
        RunContext ctx;
        std::vector<Tensor> out, in = {a, *b};
        if (withBias) in.push_back(bias);
        in.push_back(r);
        runLibraryOp(o, in, out, ctx);
        Tensor want = ref::matmul(a, b == &wt ? w : *b);
        if (withBias) want = ref::binary(ref::BinaryKind::Add, want, bias);
        if (o.act == "relu") want = ref::unary(ref::UnaryKind::Relu, want);
        want = ref::binary(ref::BinaryKind::Add, want, r);
        EXPECT_LT(maxDiff(out[0], want), 1e-5);
        EXPECT_TRUE(std::equal(r0.begin(), r0.end(), r.f32())) << "the residual input was written";
        // A residual no one else holds is accumulated into in place: the same result.
        in.back() = r.clone();
        const void *buffer = in.back().raw();
        runLibraryOp(o, in, out, ctx);
        EXPECT_EQ(out[0].raw(), buffer);
        EXPECT_LT(maxDiff(out[0], want), 1e-5);
      }
  LibraryOp bad = op(LibraryOp::Kind::Matmul, {2, 5, 7});
  bad.residual = true;
  RunContext ctx;
  std::vector<Tensor> out;
  EXPECT_THROW(runLibraryOp(bad, {a, w, randn({2, 5, 6}, 6)}, out, ctx), Error);  // wrong shape
}

TEST(LibraryOp, SdpaRoundTripsAndMatchesReference) {
  // Cross attention, 2 x 2 heads, 5 queries against 7 keys, causal, padded, with dlse.
  Tensor q = randn({2, 2, 5, 4}, 1), k = randn({2, 2, 7, 4}, 2), v = randn({2, 2, 7, 4}, 3);
  Tensor dout = randn({2, 2, 5, 4}, 4), dlse = randn({2, 2, 5}, 5);
  Tensor pad(DType::Bool, {2, 7});
  for (int64_t i = 0; i < pad.size(); ++i) pad.b8()[i] = i % 3 == 1;
  LibraryOp f;
  f.kind = LibraryOp::Kind::Sdpa;
  f.causal = true;
  f.scale = 0.5f;
  f.keyPadding = true;
  f.resultTypes = {DType::F32, DType::F32};
  f.resultShapes = {{2, 2, 5, 4}, {2, 2, 5}};
  f = libraryOpFromJson(nlohmann::json::parse(toJson(f).dump()));
  EXPECT_TRUE(f.causal && f.keyPadding);
  EXPECT_EQ(f.scale, 0.5f);
  RunContext ctx;
  std::vector<Tensor> fo;
  runLibraryOp(f, {q, k, v, pad}, fo, ctx);
  ref::SdpaResult want = ref::sdpa(q, k, v, &pad, true, 0.5f);
  EXPECT_LT(maxDiff(fo[0], want.out), 1e-5);
  EXPECT_LT(maxDiff(fo[1], want.lse), 1e-5);

  LibraryOp g = f;
  g.kind = LibraryOp::Kind::SdpaGrad;
  g.dlse = true;
  g.resultTypes = {DType::F32, DType::F32, DType::F32};
  g.resultShapes = {q.shape(), k.shape(), v.shape()};
  g = libraryOpFromJson(toJson(g));
  EXPECT_TRUE(g.dlse);
  std::vector<Tensor> go;
  runLibraryOp(g, {q, k, v, fo[0], fo[1], dout, dlse, pad}, go, ctx);
  ref::SdpaGrads wantG = ref::sdpaGrad(q, k, v, dout, &dlse, &pad, true, 0.5f);
  EXPECT_LT(maxDiff(go[0], wantG.dq), 1e-5);
  EXPECT_LT(maxDiff(go[1], wantG.dk), 1e-5);
  EXPECT_LT(maxDiff(go[2], wantG.dv), 1e-5);
  // A missing input is an error naming the call, not a crash.
  EXPECT_THROW(runLibraryOp(g, {q, k, v, fo[0], fo[1], dout, pad}, go, ctx), Error);
}

TEST(LibraryOp, TokenMajorSdpaRoundTripsAndMatchesReference) {
  // [B, T, H, dh]: 2 batches, 5 queries against 7 keys, 3 heads of 4, padded.
  Tensor q = randn({2, 5, 3, 4}, 11), k = randn({2, 7, 3, 4}, 12), v = randn({2, 7, 3, 4}, 13);
  Tensor dout = randn({2, 5, 3, 4}, 14);
  Tensor pad(DType::Bool, {2, 7});
  for (int64_t i = 0; i < pad.size(); ++i) pad.b8()[i] = i % 4 == 2;
  LibraryOp f;
  f.kind = LibraryOp::Kind::Sdpa;
  f.scale = 0.5f;
  f.keyPadding = true;
  f.tokenMajor = true;
  f.resultTypes = {DType::F32, DType::F32};
  f.resultShapes = {{2, 5, 3, 4}, {2, 3, 5}};
  f = libraryOpFromJson(nlohmann::json::parse(toJson(f).dump()));
  EXPECT_TRUE(f.tokenMajor);
  // Artifacts written before the layout existed read as [B, H, T, dh].
  EXPECT_FALSE(libraryOpFromJson(nlohmann::json::parse(R"({"kind": "sdpa", "results": []})")).tokenMajor);
  RunContext ctx;
  std::vector<Tensor> fo;
  runLibraryOp(f, {q, k, v, pad}, fo, ctx);
  ref::SdpaResult want = ref::sdpa(q, k, v, &pad, false, 0.5f, true);
  EXPECT_EQ(fo[0].shape(), (Shape{2, 5, 3, 4}));
  EXPECT_LT(maxDiff(fo[0], want.out), 1e-5);
  EXPECT_LT(maxDiff(fo[1], want.lse), 1e-5);

  LibraryOp g = f;
  g.kind = LibraryOp::Kind::SdpaGrad;
  g.resultTypes = {DType::F32, DType::F32, DType::F32};
  g.resultShapes = {q.shape(), k.shape(), v.shape()};
  g = libraryOpFromJson(toJson(g));
  std::vector<Tensor> go;
  runLibraryOp(g, {q, k, v, fo[0], fo[1], dout, pad}, go, ctx);
  ref::SdpaGrads wantG = ref::sdpaGrad(q, k, v, dout, nullptr, &pad, false, 0.5f, true);
  EXPECT_LT(maxDiff(go[0], wantG.dq), 1e-5);
  EXPECT_LT(maxDiff(go[1], wantG.dk), 1e-5);
  EXPECT_LT(maxDiff(go[2], wantG.dv), 1e-5);
}

TEST(LibraryOp, Bf16SdpaRoundTripsAndRoundsAsTheReference) {
  // A program compiled at bf16 runs sdpa's products in bf16: the manifest's
  // "precision" carries it; an artifact without the field (older) stays fp32.
  EXPECT_FALSE(libraryOpFromJson(nlohmann::json::parse(R"({"kind": "sdpa", "results": []})")).bf16);
  if (!native::bf16Unsupported().empty()) GTEST_SKIP() << native::bf16Unsupported();
  Tensor q = randn({2, 5, 3, 6}, 21), k = randn({2, 7, 3, 6}, 22), v = randn({2, 7, 3, 6}, 23);
  Tensor dout = randn({2, 5, 3, 6}, 24);
  LibraryOp f;
  f.kind = LibraryOp::Kind::Sdpa;
  f.scale = 0.5f;
  f.causal = true;
  f.tokenMajor = true;
  f.bf16 = true;
  f.resultTypes = {DType::F32, DType::F32};
  f.resultShapes = {{2, 5, 3, 6}, {2, 3, 5}};
  f = libraryOpFromJson(nlohmann::json::parse(toJson(f).dump()));
  EXPECT_TRUE(f.bf16);
  RunContext ctx;
  std::vector<Tensor> fo;
  runLibraryOp(f, {q, k, v}, fo, ctx);
  ref::SdpaResult want = ref::sdpa(q, k, v, nullptr, true, 0.5f, true, true);
  ref::SdpaResult exact = ref::sdpa(q, k, v, nullptr, true, 0.5f, true);
  EXPECT_LT(maxDiff(fo[0], want.out), 1e-5);
  EXPECT_GT(maxDiff(fo[0], exact.out), 1e-4);  // the products really are bf16
  LibraryOp g = f;
  g.kind = LibraryOp::Kind::SdpaGrad;
  g.resultTypes = {DType::F32, DType::F32, DType::F32};
  g.resultShapes = {q.shape(), k.shape(), v.shape()};
  g = libraryOpFromJson(toJson(g));
  EXPECT_TRUE(g.bf16);
  std::vector<Tensor> go;
  runLibraryOp(g, {q, k, v, fo[0], fo[1], dout}, go, ctx);
  ref::SdpaGrads wantG = ref::sdpaGrad(q, k, v, dout, nullptr, nullptr, true, 0.5f, true, true);
  EXPECT_LT(maxDiff(go[0], wantG.dq), 1e-5);
  EXPECT_LT(maxDiff(go[1], wantG.dk), 1e-5);
  EXPECT_LT(maxDiff(go[2], wantG.dv), 1e-5);
}

TEST(LibraryOp, DropoutIsIdentityOutsideTraining) {
  RunContext ctx;
  Tensor x = randn({16}, 7);
  LibraryOp d = op(LibraryOp::Kind::Dropout, {16});
  d.p = 0.5f;
  std::vector<Tensor> out;
  runLibraryOp(d, {x}, out, ctx);
  EXPECT_EQ(out[0].raw(), x.raw());
  ctx.training = true;
  ctx.step = 3;
  runLibraryOp(d, {x}, out, ctx);
  EXPECT_EQ(maxDiff(out[0], ref::dropout(x, 0.5f, 0, 3)), 0);
}

// The residual forms the partition gives dropout and layer_norm_grad: the call's
// (first) result is r + the op's, bit for bit the reference's op then add, in and
// out of training; the flag survives the manifest; a mis-shaped r is an error.
TEST(LibraryOp, DropoutAndLayerNormGradResidualsAreOpThenAdd) {
  RunContext ctx;
  Tensor x = randn({6, 16}, 7), r = randn({6, 16}, 8);
  LibraryOp d = op(LibraryOp::Kind::Dropout, {6, 16});
  d.p = 0.3f;
  d.seed = 5;
  d.residual = true;
  EXPECT_TRUE(libraryOpFromJson(toJson(d)).residual);
  std::vector<Tensor> out;
  runLibraryOp(d, {x, r}, out, ctx);  // not training: r + x
  EXPECT_EQ(maxDiff(out[0], ref::binary(ref::BinaryKind::Add, x, r)), 0);
  ctx.training = true;
  ctx.step = 4;
  out.clear();
  runLibraryOp(d, {x, r}, out, ctx);
  EXPECT_EQ(maxDiff(out[0], ref::binary(ref::BinaryKind::Add, ref::dropout(x, 0.3f, 5, 4), r)), 0);
  out.clear();
  EXPECT_THROW(runLibraryOp(d, {x, randn({16}, 9)}, out, ctx), Error);

  LibraryOp g;
  g.kind = LibraryOp::Kind::LayerNormGrad;
  g.resultTypes = {DType::F32, DType::F32, DType::F32};
  g.resultShapes = {{6, 16}, {16}, {16}};
  g.eps = 1e-5f;
  Tensor gamma = randn({16}, 10), dy = randn({6, 16}, 11);
  std::vector<Tensor> plain, fused;
  runLibraryOp(g, {x, gamma, dy}, plain, ctx);
  g.residual = true;
  runLibraryOp(g, {x, gamma, dy, r}, fused, ctx);
  EXPECT_EQ(maxDiff(fused[0], ref::binary(ref::BinaryKind::Add, plain[0], r)), 0);
  EXPECT_EQ(maxDiff(fused[1], plain[1]), 0);
  EXPECT_EQ(maxDiff(fused[2], plain[2]), 0);
  fused.clear();
  EXPECT_THROW(runLibraryOp(g, {x, gamma, dy}, fused, ctx), Error);
}

TEST(LibraryOp, ParamChecksTheStoredShapeAndErrorsCarryTheLocation) {
  ParamStore store;
  store.add("w", {2, 3}, "zeros", false);
  RunContext ctx;
  ctx.params = &store;
  LibraryOp p = op(LibraryOp::Kind::Param, {2, 3});
  p.name = "w";
  std::vector<Tensor> out;
  runLibraryOp(p, {}, out, ctx);
  EXPECT_EQ(out[0].shape(), (Shape{2, 3}));
  p.resultShapes = {{3, 2}};
  p.location = "m.heed:4:5: ";
  try {
    runLibraryOp(p, {}, out, ctx);
    FAIL() << "expected a shape error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("m.heed:4:5: param 'w': stored shape [2, 3]"), std::string::npos)
        << e.what();
  }
}

/// y = x @ w through a plan with one library step; liveness and JSON round trip.
TEST(Plan, ExecutesAndRoundTrips) {
  Plan plan;
  plan.entry = "f";
  plan.values = {{DType::F32, {2, 3}}, {DType::F32, {3, 4}}, {DType::F32, {2, 4}}};
  plan.inputs = {0, 1};
  plan.outputs = {2};
  PlanStep s;
  s.kind = PlanStep::Kind::Library;
  s.op = op(LibraryOp::Kind::Matmul, {2, 4});
  s.inputs = {0, 1};
  s.outputs = {2};
  plan.steps.push_back(s);
  plan.validate();
  plan.computeLiveness();
  Plan back = planFromJson(nlohmann::json::parse(toJson(plan).dump()));
  EXPECT_EQ(back.peakBytes, 2 * 4 * 4);
  RunContext ctx;
  Tensor x = randn({2, 3}, 8), w = randn({3, 4}, 9);
  std::vector<Tensor> r = execute(back, {x, w}, ctx);
  EXPECT_LT(maxDiff(r[0], ref::matmul(x, w)), 1e-5);
  EXPECT_THROW(execute(back, {w, x}, ctx), Error);  // wrong input shapes
  nlohmann::json bad = toJson(plan);
  bad["steps"][0]["in"] = {0, 7};
  EXPECT_THROW(planFromJson(bad), Error);
}

TEST(Plan, AliasStepReshapesWithoutCopying) {
  // f(x[2, 6], w[3, 4]) = matmul(reshape(x, [4, 3]), w): the reshape is an alias step.
  Plan plan;
  plan.entry = "f";
  plan.values = {{DType::F32, {2, 6}}, {DType::F32, {3, 4}}, {DType::F32, {4, 3}}, {DType::F32, {4, 4}}};
  plan.inputs = {0, 1};
  plan.outputs = {3};
  PlanStep a;
  a.kind = PlanStep::Kind::Alias;
  a.aliasOf = {0};
  a.inputs = {0};
  a.outputs = {2};
  PlanStep m;
  m.kind = PlanStep::Kind::Library;
  m.op = op(LibraryOp::Kind::Matmul, {4, 4});
  m.inputs = {2, 1};
  m.outputs = {3};
  plan.steps = {a, m};
  plan.validate();
  plan.computeLiveness();
  Plan back = planFromJson(nlohmann::json::parse(toJson(plan).dump()));
  ASSERT_EQ(back.steps[0].kind, PlanStep::Kind::Alias);
  EXPECT_EQ(back.steps[0].aliasOf, std::vector<int>{0});
  RunContext ctx;
  Tensor x = randn({2, 6}, 8), w = randn({3, 4}, 9);
  std::vector<Tensor> r = execute(back, {x, w}, ctx);
  EXPECT_LT(maxDiff(r[0], ref::matmul(x.reshaped({4, 3}), w)), 1e-5);
  // An alias must keep the byte size and dtype of the input it reshapes.
  nlohmann::json bad = toJson(plan);
  bad["values"][2] = {"f32", {4, 4}};
  EXPECT_THROW(planFromJson(bad), Error);
  bad = toJson(plan);
  bad["steps"][0]["alias"] = {1};
  EXPECT_THROW(planFromJson(bad), Error);
}

}  // namespace
}  // namespace heed::rt

namespace heed::rt {
namespace {

// A bf16 param call rounds its weight once (the shadow); the bf16 matmuls that
// read that parameter use the shadow instead of rounding the weight again.
TEST(LibraryOp, Bf16ParamShadowIsWhatTheMatmulReads) {
  if (!native::bf16Unsupported().empty()) GTEST_SKIP() << native::bf16Unsupported();
  ParamStore store;
  store.add("w", {24, 40}, "zeros", false);
  Tensor &w = store.get("w").value;
  const Tensor w0 = randn({24, 40}, 1);
  std::copy(w0.f32(), w0.f32() + w0.size(), w.f32());
  RunContext ctx;
  ctx.params = &store;
  LibraryOp p = op(LibraryOp::Kind::Param, {24, 40});
  p.name = "w";
  p.bf16 = p.writesBf16 = true;
  LibraryOp m = op(LibraryOp::Kind::Matmul, {16, 40});
  m.bf16 = true;
  m.bf16Rhs = native::Bf16Source::Copy;
  m = libraryOpFromJson(nlohmann::json::parse(toJson(m).dump()));
  p = libraryOpFromJson(nlohmann::json::parse(toJson(p).dump()));
  ASSERT_TRUE(m.bf16 && m.bf16Rhs == native::Bf16Source::Copy && m.bf16Lhs == native::Bf16Source::Round &&
              !m.dropLhs && !m.dropRhs && p.bf16 && p.writesBf16);
  Tensor x = randn({16, 24}, 2);
  std::vector<Tensor> pw, out;
  runLibraryOp(p, {}, pw, ctx);
  runLibraryOp(m, {x, pw[0]}, out, ctx);
  EXPECT_LT(maxDiff(out[0], ref::matmulBf16(x, w0)), 1e-5);
  // The master weight changes (an optimizer step): until its param call runs
  // again, the matmul still reads the step's shadow ...
  for (int64_t i = 0; i < w.size(); ++i) w.f32()[i] *= 2;
  runLibraryOp(m, {x, pw[0]}, out, ctx);
  EXPECT_LT(maxDiff(out[0], ref::matmulBf16(x, w0)), 1e-5);
  // ... and the next run's param call refreshes it.
  runLibraryOp(p, {}, pw, ctx);
  runLibraryOp(m, {x, pw[0]}, out, ctx);
  EXPECT_LT(maxDiff(out[0], ref::matmulBf16(x, w)), 1e-5);
  // Without the flag the operand is rounded at the call.
  m.bf16Rhs = native::Bf16Source::Round;
  for (int64_t i = 0; i < w.size(); ++i) w.f32()[i] *= -1;
  runLibraryOp(m, {x, pw[0]}, out, ctx);
  EXPECT_LT(maxDiff(out[0], ref::matmulBf16(x, w)), 1e-5);
}

}  // namespace
}  // namespace heed::rt

namespace heed::rt {
namespace {

// A fused kernel compiled with a bf16 result (PlanStep::bf16Outputs) is the
// producer of that copy: the matmuls read it (through a reshape), the last
// drops it; the manifest keeps "bf16_outputs"; a bad index or a copy no
// matmul reads is an error, not a silent leak.
TEST(Plan, KernelBf16OutputsAreReadAsCopies) {
  using native::Bf16Source;
  Plan plan;
  plan.entry = "f";
  // 0 x[8, 6], 1 w[6, 5], 2 s = kernel(x), 3 s' = reshape(s), 4 u = s' w, 5 v = s w
  plan.values = {{DType::F32, {8, 6}}, {DType::F32, {6, 5}}, {DType::F32, {8, 6}},
                 {DType::F32, {2, 4, 6}}, {DType::F32, {2, 4, 5}}, {DType::F32, {8, 5}}};
  plan.inputs = {0, 1};
  plan.outputs = {4, 5};
  PlanStep k;
  k.kernel = "f_k0";
  k.inputs = {0};
  k.outputs = {2};
  k.bf16Outputs = {0};
  PlanStep alias;
  alias.kind = PlanStep::Kind::Alias;
  alias.aliasOf = {0};
  alias.inputs = {2};
  alias.outputs = {3};
  auto matmul = [](Shape result, std::vector<int> in, int out) {
    PlanStep s;
    s.kind = PlanStep::Kind::Library;
    s.op = op(LibraryOp::Kind::Matmul, result);
    s.op.bf16 = true;
    s.inputs = std::move(in);
    s.outputs = {out};
    return s;
  };
  plan.steps = {k, alias, matmul({2, 4, 5}, {3, 1}, 4), matmul({8, 5}, {2, 1}, 5)};
  assignBf16Inputs(plan);
  plan.validate();
  EXPECT_EQ(plan.steps[2].op.bf16Lhs, Bf16Source::Copy);
  EXPECT_FALSE(plan.steps[2].op.dropLhs);
  EXPECT_EQ(plan.steps[3].op.bf16Lhs, Bf16Source::Copy);
  EXPECT_TRUE(plan.steps[3].op.dropLhs);
  EXPECT_EQ(plan.steps[2].op.bf16Rhs, Bf16Source::RoundKeep);  // w: no producer, two readers
  Plan back = planFromJson(nlohmann::json::parse(toJson(plan).dump()));
  EXPECT_EQ(back.steps[0].bf16Outputs, std::vector<int>{0});
  Plan bad = plan;
  bad.steps[0].bf16Outputs = {1};
  EXPECT_THROW(bad.validate(), Error);
  Plan unread = plan;
  unread.steps.resize(1);
  unread.outputs = {2};
  EXPECT_THROW(assignBf16Inputs(unread), Error);
}

// A library call step of a hand-made plan.
PlanStep library(LibraryOp o, std::vector<int> in, std::vector<int> out) {
  PlanStep s;
  s.kind = PlanStep::Kind::Library;
  s.op = std::move(o);
  s.inputs = std::move(in);
  s.outputs = std::move(out);
  return s;
}

// A reshape step (the same storage) of value `from` into value `to`.
PlanStep reshapeStep(int from, int to) {
  PlanStep s;
  s.kind = PlanStep::Kind::Alias;
  s.aliasOf = {0};
  s.inputs = {from};
  s.outputs = {to};
  return s;
}

// assignBf16Inputs: a layer norm's output (through a reshape) is rounded by the
// layer norm itself; an input read by two matmuls is rounded by the first and
// read from its copy by the second, which drops it; results equal rounding at
// every matmul, run after run (no stale copy), and no activation copy outlives its run.
TEST(Plan, Bf16InputsAreRoundedOncePerRun) {
  if (!native::bf16Unsupported().empty()) GTEST_SKIP() << native::bf16Unsupported();
  using native::Bf16Source;
  Plan plan;
  plan.entry = "f";
  // 0 x[8, 6], 1 g[6], 2 b[6], 3 w[6, 5], 4 y = ln(x), 5 y' = reshape(y), 6 z = y' w, 7 u = x w, 8 v = x w
  plan.values = {{DType::F32, {8, 6}}, {DType::F32, {6}},       {DType::F32, {6}},
                 {DType::F32, {6, 5}}, {DType::F32, {8, 6}},    {DType::F32, {2, 4, 6}},
                 {DType::F32, {2, 4, 5}}, {DType::F32, {8, 5}}, {DType::F32, {8, 5}}};
  plan.inputs = {0, 1, 2, 3};
  plan.outputs = {6, 7, 8, 4};
  const PlanStep alias = reshapeStep(4, 5);
  LibraryOp mm = op(LibraryOp::Kind::Matmul, {8, 5});
  mm.bf16 = true;
  LibraryOp mm3 = mm;
  mm3.resultShapes = {{2, 4, 5}};
  plan.steps = {library(op(LibraryOp::Kind::LayerNorm, {8, 6}), {0, 1, 2}, {4}), alias,
                library(mm3, {5, 3}, {6}), library(mm, {0, 3}, {7}), library(mm, {0, 3}, {8})};
  assignBf16Inputs(plan);
  plan.validate();
  plan.computeLiveness();
  const std::vector<PlanStep> &s = plan.steps;
  EXPECT_TRUE(s[0].op.writesBf16);
  EXPECT_FALSE(s[0].op.bf16Only);  // the caller gets y back
  EXPECT_EQ(s[2].op.bf16Lhs, Bf16Source::Copy);
  EXPECT_TRUE(s[2].op.dropLhs);
  EXPECT_EQ(s[3].op.bf16Lhs, Bf16Source::RoundKeep);
  EXPECT_FALSE(s[3].op.dropLhs);
  EXPECT_EQ(s[4].op.bf16Lhs, Bf16Source::Copy);
  EXPECT_TRUE(s[4].op.dropLhs);
  // w: read by three matmuls, no producer (an entry argument).
  EXPECT_EQ(s[2].op.bf16Rhs, Bf16Source::RoundKeep);
  EXPECT_EQ(s[3].op.bf16Rhs, Bf16Source::Copy);
  EXPECT_FALSE(s[3].op.dropRhs);
  EXPECT_TRUE(s[4].op.dropRhs);
  Plan back = planFromJson(nlohmann::json::parse(toJson(plan).dump()));
  EXPECT_TRUE(back.steps[0].op.writesBf16);
  EXPECT_EQ(back.steps[3].op.bf16Lhs, Bf16Source::RoundKeep);
  EXPECT_TRUE(back.steps[4].op.dropRhs);
  RunContext ctx;
  Tensor g = randn({6}, 3), b = randn({6}, 4);
  for (uint64_t seed : {10, 20}) {
    Tensor x = randn({8, 6}, seed), w = randn({6, 5}, seed + 1);
    std::vector<Tensor> r = execute(back, {x, g, b, w}, ctx);
    EXPECT_LT(maxDiff(r[3], ref::layerNorm(x, g, b, 1e-5f)), 1e-5);
    EXPECT_LT(maxDiff(r[0], ref::matmulBf16(r[3], w).reshaped({2, 4, 5})), 1e-5);
    EXPECT_LT(maxDiff(r[1], ref::matmulBf16(x, w)), 1e-5);
    EXPECT_LT(maxDiff(r[2], ref::matmulBf16(x, w)), 1e-5);
    EXPECT_FALSE(native::hasBf16Copy(x.f32(), x.size()));
    EXPECT_FALSE(native::hasBf16Copy(w.f32(), w.size()));
  }
}

// assignBf16Inputs: a layer norm whose output only bf16 matmuls read (through a
// reshape too) writes its bf16 copy alone; the matmuls' results are those of
// rounding the float32 output. Read by anything else (another call here), or
// returned, it writes both; so does an observed run. The flag survives the
// manifest and is refused where no kernel can honour it.
TEST(Plan, Bf16OnlyResultsLeaveTheirFloat32ValuesUnwritten) {
  if (!native::bf16Unsupported().empty()) GTEST_SKIP() << native::bf16Unsupported();
  LibraryOp mm = op(LibraryOp::Kind::Matmul, {8, 5});
  mm.bf16 = true;
  LibraryOp mm3 = mm;
  mm3.resultShapes = {{2, 4, 5}};
  const PlanStep alias = reshapeStep(4, 5);
  // 0 x[8, 6], 1 g[6], 2 b[6], 3 w[6, 5], 4 y = ln(x), 5 y' = reshape(y), 6 z = y' w, 7 u = y w
  Plan plan;
  plan.entry = "f";
  plan.values = {{DType::F32, {8, 6}}, {DType::F32, {6}},       {DType::F32, {6}},
                 {DType::F32, {6, 5}}, {DType::F32, {8, 6}},    {DType::F32, {2, 4, 6}},
                 {DType::F32, {2, 4, 5}}, {DType::F32, {8, 5}}};
  plan.inputs = {0, 1, 2, 3};
  plan.outputs = {6, 7};
  plan.steps = {library(op(LibraryOp::Kind::LayerNorm, {8, 6}), {0, 1, 2}, {4}), alias,
                library(mm3, {5, 3}, {6}), library(mm, {4, 3}, {7})};
  assignBf16Inputs(plan);
  plan.validate();
  plan.computeLiveness();
  EXPECT_TRUE(plan.steps[0].op.writesBf16);
  EXPECT_TRUE(plan.steps[0].op.bf16Only);
  Plan back = planFromJson(nlohmann::json::parse(toJson(plan).dump()));
  EXPECT_TRUE(back.steps[0].op.bf16Only);
  RunContext ctx;
  Tensor g = randn({6}, 3), b = randn({6}, 4);
  for (uint64_t seed : {10, 20}) {
    Tensor x = randn({8, 6}, seed), w = randn({6, 5}, seed + 1);
    Tensor y = ref::layerNorm(x, g, b, 1e-5f);
    std::vector<Tensor> r = execute(back, {x, g, b, w}, ctx);
    EXPECT_LT(maxDiff(r[0], ref::matmulBf16(y, w).reshaped({2, 4, 5})), 1e-5);
    EXPECT_LT(maxDiff(r[1], ref::matmulBf16(y, w)), 1e-5);
    // An observer (the NaN replay) sees every float32 result.
    Tensor seen;
    execute(back, {x, g, b, w}, ctx, nullptr,
            [&](size_t i, const std::vector<Tensor> &, const std::vector<Tensor> &out) {
              if (i == 0) seen = out.at(0);
            });
    EXPECT_LT(maxDiff(seen, y), 1e-5);
  }

  // Returned, or read by another call: both writes.
  Plan returned = plan;
  returned.outputs = {6, 7, 4};
  assignBf16Inputs(returned);
  EXPECT_FALSE(returned.steps[0].op.bf16Only);
  Plan shared = plan;
  shared.values.push_back({DType::F32, {8, 6}});  // 8 ln(y)
  shared.steps.push_back(library(op(LibraryOp::Kind::LayerNorm, {8, 6}), {4, 1, 2}, {8}));
  shared.outputs = {6, 7, 8};
  assignBf16Inputs(shared);
  EXPECT_TRUE(shared.steps[0].op.writesBf16);
  EXPECT_FALSE(shared.steps[0].op.bf16Only);

  nlohmann::json j = toJson(mm);
  j["bf16_only"] = true;
  EXPECT_THROW(libraryOpFromJson(j), Error);
}

}  // namespace
}  // namespace heed::rt
