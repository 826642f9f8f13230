//===- OpGradTest.cpp - every gradient rule against finite differences ----===//
//
// One or more cases per differentiable op, each checked in float64 by
// GradHarness. Inputs stay away from kinks (relu at 0, ties in max).
//
//===----------------------------------------------------------------------===//

#include "GradHarness.h"

#include "ops/HeedDialect.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace heed::test {
namespace {

RankedTensorType f32(ArrayRef<int64_t> s, OpBuilder &b) { return RankedTensorType::get(s, b.getF32Type()); }
ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

template <typename OpT>
BuildFn binary(ArrayRef<int64_t> out) {
  SmallVector<int64_t> o(out);
  return [o](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
    return b.create<OpT>(l, f32(o, b), in[0], in[1]);
  };
}
template <typename OpT>
BuildFn unary() {
  return [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
    return b.create<OpT>(l, in[0].getType(), in[0]);
  };
}
template <typename OpT>
BuildFn reduce(int64_t axis, bool keep, ArrayRef<int64_t> out) {
  SmallVector<int64_t> o(out);
  return [=](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
    return b.create<OpT>(l, f32(o, b), in[0], b.getI64IntegerAttr(axis), b.getBoolAttr(keep));
  };
}

using I = InputSpec;

/// sdpa's output (plus its log-sum-exp broadcast over head_dim when `withLse`, so
/// that gradient flows through both results). tokenMajor: q, k, v are [B, T, H, dh].
BuildFn sdpa(bool causal, bool mask, bool withLse, bool tokenMajor = false) {
  return [=](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
    auto qs = shapeOf(in[0]);
    const int64_t H = tokenMajor ? qs[2] : qs[1], Tq = tokenMajor ? qs[1] : qs[2];
    auto lseTy = f32({qs[0], H, Tq}, b);
    auto op = b.create<SdpaOp>(l, in[0].getType(), lseTy, in[0], in[1], in[2],
                               mask ? in[3] : Value(), b.getBoolAttr(causal), b.getF32FloatAttr(0.5f),
                               b.getBoolAttr(tokenMajor));
    if (!withLse) return op.getOut();
    Value lse = op.getLse();  // [B, H, Tq] -> [B, Tq, H] to line up with a token-major out
    if (tokenMajor)
      lse = b.create<TransposeOp>(l, f32({qs[0], Tq, H}, b), lse, b.getDenseI64ArrayAttr({0, 2, 1}));
    lse = b.create<ReshapeOp>(l, f32({qs[0], qs[1], qs[2], 1}, b), lse);
    return b.create<AddOp>(l, in[0].getType(), op.getOut(), lse);
  };
}

}  // namespace

const std::vector<GradCase> &gradCases() {
  static const std::vector<GradCase> cases = {
      {"add", "add_same", {I::normal({2, 3}), I::normal({2, 3})}, binary<AddOp>({2, 3})},
      {"add", "add_broadcast", {I::normal({2, 3, 4}), I::normal({4})}, binary<AddOp>({2, 3, 4})},
      {"sub", "sub_broadcast", {I::normal({3, 1}), I::normal({2, 3, 4})}, binary<SubOp>({2, 3, 4})},
      {"mul", "mul_broadcast", {I::normal({2, 3, 4}), I::normal({3, 1})}, binary<MulOp>({2, 3, 4})},
      {"div", "div_broadcast", {I::normal({2, 3}), I::positive({3})}, binary<DivOp>({2, 3})},
      {"where", "where_mask",
       {I::mask({2, 3}), I::normal({2, 3}), I::normal({3})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<WhereOp>(l, f32({2, 3}, b), in[0], in[1], in[2]);
       }},
      {"neg", "neg", {I::normal({2, 3})}, unary<NegOp>()},
      {"exp", "exp", {I::normal({2, 3})}, unary<ExpOp>()},
      {"log", "log", {I::positive({2, 3})}, unary<LogOp>()},
      {"sqrt", "sqrt", {I::positive({2, 3})}, unary<SqrtOp>()},
      {"rsqrt", "rsqrt", {I::positive({2, 3})}, unary<RsqrtOp>()},
      {"tanh", "tanh", {I::normal({2, 3})}, unary<TanhOp>()},
      {"relu", "relu", {I::awayFromZero({2, 3})}, unary<ReluOp>()},
      {"gelu", "gelu", {I::normal({2, 5})}, unary<GeluOp>()},
      {"matmul", "matmul_2d", {I::normal({3, 4}), I::normal({4, 2})}, binary<MatmulOp>({3, 2})},
      {"matmul", "matmul_weight", {I::normal({2, 3, 4}), I::normal({4, 5})}, binary<MatmulOp>({2, 3, 5})},
      {"matmul", "matmul_batched", {I::normal({2, 2, 3, 4}), I::normal({2, 2, 4, 3})},
       binary<MatmulOp>({2, 2, 3, 3})},
      {"matmul", "matmul_broadcast_batch", {I::normal({2, 3, 4}), I::normal({1, 4, 2})},
       binary<MatmulOp>({2, 3, 2})},
      {"transpose", "transpose_4d", {I::normal({2, 3, 4, 5})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<TransposeOp>(l, f32({2, 4, 3, 5}, b), in[0], b.getDenseI64ArrayAttr({0, 2, 1, 3}));
       }},
      {"reshape", "reshape", {I::normal({2, 6})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<ReshapeOp>(l, f32({3, 4}, b), in[0]);
       }},
      {"broadcast", "broadcast", {I::normal({3, 1})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<BroadcastOp>(l, f32({2, 3, 4}, b), in[0]);
       }},
      {"sum_to", "sum_to", {I::normal({2, 3, 4})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<SumToOp>(l, f32({3, 1}, b), in[0]);
       }},
      {"sum", "sum_axis", {I::normal({2, 3, 4})}, reduce<SumOp>(1, false, {2, 4})},
      {"sum", "sum_keepdim", {I::normal({2, 3, 4})}, reduce<SumOp>(-1, true, {2, 3, 1})},
      {"mean", "mean_axis", {I::normal({2, 3, 4})}, reduce<MeanOp>(0, false, {3, 4})},
      {"mean", "mean_last_axis", {I::normal({2, 3, 4})}, reduce<MeanOp>(-1, false, {2, 3})},
      {"max", "max_axis", {I::distinct({2, 3, 4})}, reduce<MaxOp>(-1, false, {2, 3})},
      {"softmax", "softmax", {I::normal({2, 3, 5})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<SoftmaxOp>(l, in[0].getType(), in[0], b.getI64IntegerAttr(-1));
       }},
      {"softmax", "softmax_axis1", {I::normal({2, 4, 3})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<SoftmaxOp>(l, in[0].getType(), in[0], b.getI64IntegerAttr(1));
       }},
      {"log_softmax", "log_softmax", {I::normal({3, 6})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<LogSoftmaxOp>(l, in[0].getType(), in[0], b.getI64IntegerAttr(-1));
       }},
      {"layer_norm", "layer_norm", {I::normal({2, 3, 6}), I::normal({6}), I::normal({6})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<LayerNormOp>(l, in[0].getType(), in[0], in[1], in[2], b.getF32FloatAttr(1e-5f));
       }},
      {"gather", "gather", {I::normal({7, 4}), I::ids({2, 5}, 7)},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<GatherOp>(l, f32({2, 5, 4}, b), in[0], in[1]);
       }},
      {"dropout", "dropout_training", {I::normal({4, 8})},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<DropoutOp>(l, in[0].getType(), in[0], b.getF32FloatAttr(0.3f), b.getI64IntegerAttr(5));
       },
       /*training=*/true},
      {"cross_entropy", "cross_entropy_smoothing_ignore", {I::normal({2, 4, 6}), I::ids({2, 4}, 6)},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<CrossEntropyOp>(l, f32({}, b), in[0], in[1], b.getF32FloatAttr(0.1f),
                                         b.getI64IntegerAttr(2));
       }},
      {"cross_entropy", "cross_entropy_plain", {I::normal({5, 3}), I::ids({5}, 3)},
       [](OpBuilder &b, Location l, ArrayRef<Value> in) -> Value {
         return b.create<CrossEntropyOp>(l, f32({}, b), in[0], in[1], b.getF32FloatAttr(0.0f),
                                         b.getI64IntegerAttr(-1));
       }},
      {"sdpa", "sdpa_self_causal", {I::normal({2, 2, 5, 4}), I::normal({2, 2, 5, 4}), I::normal({2, 2, 5, 4})},
       sdpa(true, false, false)},
      {"sdpa", "sdpa_cross_padding", {I::normal({2, 2, 3, 4}), I::normal({2, 2, 5, 4}), I::normal({2, 2, 5, 4}),
                                      I::mask({2, 5})},
       sdpa(false, true, false)},
      // Tq < Tk and Tq > Tk under the bottom-right causal alignment, with padding:
      // the Tq > Tk case has rows with every key hidden (uniform attention).
      {"sdpa", "sdpa_causal_padding_short_query", {I::normal({1, 2, 2, 3}), I::normal({1, 2, 6, 3}),
                                                   I::normal({1, 2, 6, 3}), I::mask({1, 6})},
       sdpa(true, true, false)},
      {"sdpa", "sdpa_causal_long_query_one_head", {I::normal({2, 1, 6, 3}), I::normal({2, 1, 4, 3}),
                                                   I::normal({2, 1, 4, 3})},
       sdpa(true, false, false)},
      // No padding here: a fully masked row's lse is about -1e9, too large for the
      // finite differences of a loss that includes it.
      {"sdpa", "sdpa_lse_gradient", {I::normal({2, 2, 4, 3}), I::normal({2, 2, 4, 3}), I::normal({2, 2, 4, 3})},
       sdpa(true, false, true)},
      // Token-major [B, T, H, dh] (the attention layer's form): cross lengths with
      // padding, causal with Tq < Tk, and the lse gradient.
      {"sdpa", "sdpa_token_major_cross_padding", {I::normal({2, 3, 2, 4}), I::normal({2, 5, 2, 4}),
                                                  I::normal({2, 5, 2, 4}), I::mask({2, 5})},
       sdpa(false, true, false, true)},
      {"sdpa", "sdpa_token_major_causal_short_query", {I::normal({1, 2, 3, 3}), I::normal({1, 6, 3, 3}),
                                                       I::normal({1, 6, 3, 3})},
       sdpa(true, false, false, true)},
      {"sdpa", "sdpa_token_major_lse_gradient", {I::normal({2, 4, 2, 3}), I::normal({2, 4, 2, 3}),
                                                 I::normal({2, 4, 2, 3})},
       sdpa(true, false, true, true)},
  };
  return cases;
}

class OpGrad : public ::testing::TestWithParam<size_t> {};

TEST_P(OpGrad, MatchesFiniteDifferences) {
  const GradCase &c = gradCases()[GetParam()];
  GradResult r = checkGradient(c);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_FALSE(r.relError.empty());
  bool anyNonZero = false;
  for (size_t i = 0; i < r.relError.size(); ++i) {
    EXPECT_LT(r.relError[i], c.tolerance) << c.name << ": float input " << i;
    anyNonZero |= r.gradNorm[i] > 1e-9;
  }
  EXPECT_TRUE(anyNonZero) << c.name << ": every gradient is zero";
}

INSTANTIATE_TEST_SUITE_P(OpTable, OpGrad, ::testing::Range<size_t>(0, gradCases().size()),
                         [](const ::testing::TestParamInfo<size_t> &info) {
                           return gradCases()[info.param].name;
                         });

}  // namespace heed::test
