//===- Decompose.cpp - layers into primitives (heed-decompose) ------------===//
//
// After this pass only primitives remain: gather, matmul, add, softmax, ...
// Each rewritten op keeps the location of the layer call it came from, so an
// error in a later stage still points at the model line.
//
// attention(q_in, kv_in) with d = d_model, h = heads, dh = d / h:
//   q = reshape(q_in @ w_q + b_q, [B, Tq, h, dh])    [B, Tq, h, dh]
//   k, v likewise from kv_in                          [B, Tk, h, dh]
//   o, lse = sdpa(q, k, v, [pad]) {causal, scale = 1/sqrt(dh), token_major}
//   o = reshape(o, [B, Tq, d]) @ w_o + b_o
// The token-major sdpa reads each head's rows h * dh apart in the projections
// as they are, so splitting and merging the heads costs nothing: the reshapes
// are views, and no transpose is copied forward or backward.
// sdpa is the fused attention primitive (one kernel forward, one backward, no
// [B, h, Tq, Tk] tensor). With HEED_FUSE_ATTENTION=0 (or the pass option
// fuse-attention=false) the scores are spelled out instead, for parity tests
// and benchmarks; both forms compute the same function. The spelled-out form
// works on heads split out by a copy, q = transpose(q, [0, 2, 1, 3]) [B, h, Tq, dh]:
//   s = (q @ transpose(k)) * 1/sqrt(dh)     [B, h, Tq, Tk]
//   s = where(j > i + Tk - Tq, -1e9, s)     (causal; the last query sees every key)
//   s = where(pad[B, 1, 1, Tk], -1e9, s)    (key_padding)
//   o = softmax(s) @ v                      [B, h, Tq, dh]
// A large negative (not -inf) keeps fully masked rows finite.
//
//===----------------------------------------------------------------------===//

#include "compiler/passes/Passes.h"
#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace mlir;

namespace heed {
namespace {

constexpr float kMaskValue = -1e9f;

struct Builder {
  OpBuilder &b;
  Location loc;

  RankedTensorType f32(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  static ArrayRef<int64_t> shape(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

  Value matmul(Value x, Value w) {
    auto xs = shape(x), ws = shape(w);
    SmallVector<int64_t> out(xs.begin(), xs.end());
    out.back() = ws.back();
    if (xs.size() < ws.size()) {  // leading dims of w broadcast too
      out.assign(ws.begin(), ws.end());
      out[out.size() - 2] = xs[xs.size() - 2];
    }
    return b.create<MatmulOp>(loc, f32(out), x, w);
  }
  Value add(Value x, Value y) { return b.create<AddOp>(loc, x.getType(), x, y); }
  Value linear(Value x, Value w, Value bias) {
    Value y = matmul(x, w);
    return bias ? add(y, bias) : y;
  }
  Value reshape(Value x, ArrayRef<int64_t> s) {
    auto t = cast<RankedTensorType>(x.getType());
    return b.create<ReshapeOp>(loc, RankedTensorType::get(s, t.getElementType()), x);
  }
  Value transpose(Value x, ArrayRef<int64_t> perm) {
    auto t = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> out;
    for (int64_t p : perm) out.push_back(t.getShape()[p]);
    return b.create<TransposeOp>(loc, RankedTensorType::get(out, t.getElementType()), x,
                                 b.getDenseI64ArrayAttr(perm));
  }
  Value scalar(float v) {
    auto ty = f32({});
    return b.create<ConstantOp>(loc, ty, DenseElementsAttr::get(ty, v));
  }
};

/// softmax(masked q k^T * scale) v from matmul, where and softmax: the form
/// sdpa replaces.
Value spelledOutAttention(Builder &B, AttentionOp op, Value q, Value k, Value v, float scale) {
  OpBuilder &ob = B.b;
  auto qs = Builder::shape(q), ks = Builder::shape(k);
  int64_t batch = qs[0], h = qs[1], tq = qs[2], dh = qs[3], tk = ks[2];
  Value kt = B.transpose(k, {0, 1, 3, 2});
  auto scoreTy = B.f32({batch, h, tq, tk});
  Value s = ob.create<MatmulOp>(B.loc, scoreTy, q, kt);
  s = ob.create<MulOp>(B.loc, scoreTy, s, B.scalar(scale));
  if (op.getCausal()) {
    // mask[i, j] = j > i + tk - tq  (keys after the query position, bottom-right aligned)
    SmallVector<bool> mask(tq * tk);
    for (int64_t i = 0; i < tq; ++i)
      for (int64_t j = 0; j < tk; ++j) mask[i * tk + j] = j > i + tk - tq;
    auto maskTy = RankedTensorType::get({tq, tk}, ob.getI1Type());
    Value m = ob.create<ConstantOp>(B.loc, maskTy, DenseElementsAttr::get(maskTy, ArrayRef<bool>(mask)));
    s = ob.create<WhereOp>(B.loc, scoreTy, m, B.scalar(kMaskValue), s);
  }
  if (Value pad = op.getKeyPadding()) {
    Value m = B.reshape(pad, {batch, 1, 1, tk});
    s = ob.create<WhereOp>(B.loc, scoreTy, m, B.scalar(kMaskValue), s);
  }
  Value w = ob.create<SoftmaxOp>(B.loc, scoreTy, s, ob.getI64IntegerAttr(-1));
  return ob.create<MatmulOp>(B.loc, B.f32({batch, h, tq, dh}), w, v);
}

void decomposeAttention(AttentionOp op, OpBuilder &ob, bool fuse) {
  Builder B{ob, op.getLoc()};
  auto qs = Builder::shape(op.getQIn()), ks = Builder::shape(op.getKvIn());
  int64_t batch = qs[0], tq = qs[1], d = qs[2], tk = ks[1], h = op.getHeads(), dh = d / h;
  auto split = [&](Value x, int64_t t) { return B.reshape(x, {batch, t, h, dh}); };  // a view
  Value q = split(B.linear(op.getQIn(), op.getWQ(), op.getBQ()), tq);
  Value k = split(B.linear(op.getKvIn(), op.getWK(), op.getBK()), tk);
  Value v = split(B.linear(op.getKvIn(), op.getWV(), op.getBV()), tk);
  const float scale = 1.0f / std::sqrt((float)dh);
  Value o;  // [B, Tq, h, dh]
  if (fuse) {
    auto sdpa = ob.create<SdpaOp>(B.loc, B.f32({batch, tq, h, dh}), B.f32({batch, h, tq}), q, k, v,
                                  op.getKeyPadding(), ob.getBoolAttr(op.getCausal()),
                                  ob.getF32FloatAttr(scale), ob.getBoolAttr(true));
    o = sdpa.getOut();
  } else {
    auto heads = [&](Value x) { return B.transpose(x, {0, 2, 1, 3}); };  // [B, T, h, dh] <-> [B, h, T, dh]
    Value qh = heads(q), kh = heads(k), vh = heads(v);  // in this order, for readable IR
    o = heads(spelledOutAttention(B, op, qh, kh, vh, scale));
  }
  o = B.reshape(o, {batch, tq, d});
  op.replaceAllUsesWith(B.linear(o, op.getWO(), op.getBO()));
}

void decomposeFeedForward(FeedForwardOp op, OpBuilder &ob) {
  Builder B{ob, op.getLoc()};
  Value hdn = B.linear(op.getX(), op.getW1(), op.getB1());
  hdn = op.getAct() == "gelu" ? (Value)ob.create<GeluOp>(B.loc, hdn.getType(), hdn)
                              : (Value)ob.create<ReluOp>(B.loc, hdn.getType(), hdn);
  op.replaceAllUsesWith(B.linear(hdn, op.getW2(), op.getB2()));
}

/// HEED_FUSE_ATTENTION=0 keeps attention spelled out (the default fuses it).
bool fuseAttentionByDefault() {
  const char *e = std::getenv("HEED_FUSE_ATTENTION");
  return !(e && std::strcmp(e, "0") == 0);
}

struct DecomposePass : PassWrapper<DecomposePass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DecomposePass)
  DecomposePass() = default;
  DecomposePass(const DecomposePass &other) : PassWrapper(other) {}
  Option<bool> fuseAttention{*this, "fuse-attention",
                             llvm::cl::desc("lower attention to heed.sdpa (default: true unless "
                                            "HEED_FUSE_ATTENTION=0)"),
                             llvm::cl::init(fuseAttentionByDefault())};
  StringRef getArgument() const final { return "heed-decompose"; }
  StringRef getDescription() const final {
    return "Rewrite layer ops (attention, feed_forward, linear, embedding, positional_encoding) "
           "into heed primitives";
  }
  void runOnOperation() override {
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isa<EmbeddingOp, PositionalEncodingOp, LinearOp, FeedForwardOp, AttentionOp>(op))
        layers.push_back(op);
    });
    OpBuilder ob(&getContext());
    for (Operation *op : layers) {
      ob.setInsertionPoint(op);
      Builder B{ob, op->getLoc()};
      if (auto e = dyn_cast<EmbeddingOp>(op)) {
        e.replaceAllUsesWith(ob.create<GatherOp>(B.loc, e.getType(), e.getTable(), e.getIds()).getResult());
      } else if (auto p = dyn_cast<PositionalEncodingOp>(op)) {
        Value table = p.getTable() ? p.getTable()
                                   : (Value)ob.create<SinusoidalOp>(B.loc, p.getType());
        p.replaceAllUsesWith(table);
      } else if (auto l = dyn_cast<LinearOp>(op)) {
        l.replaceAllUsesWith(B.linear(l.getX(), l.getW(), l.getB()));
      } else if (auto f = dyn_cast<FeedForwardOp>(op)) {
        decomposeFeedForward(f, ob);
      } else if (auto a = dyn_cast<AttentionOp>(op)) {
        decomposeAttention(a, ob, fuseAttention);
      }
      op->erase();
    }
  }
};

}  // namespace

std::unique_ptr<Pass> createDecomposePass() { return std::make_unique<DecomposePass>(); }

}  // namespace heed
