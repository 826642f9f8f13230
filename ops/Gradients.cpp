//===- Gradients.cpp - each op's reverse-mode rule, built from heed ops ---===//
//
// Rules are written with heed ops only, so the backward graph gets the same
// verification, fusion and lowering as the forward one. Where an operand was
// broadcast, its gradient is summed back with sum_to. Fused backward ops
// (layer_norm_grad, cross_entropy_grad, gelu_grad, scatter_add) are ops of
// their own with full table entries.
//
//===----------------------------------------------------------------------===//

#include "ops/HeedDialect.h"

#include "mlir/IR/Builders.h"

using namespace mlir;

namespace heed {
namespace {

RankedTensorType tty(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Small builder helpers; `loc` is the forward op's location so backward ops
/// point at the same model line.
struct G {
  OpBuilder &b;
  Location loc;

  Value scalar(float v) {
    auto t = RankedTensorType::get({}, b.getF32Type());
    return b.create<ConstantOp>(loc, t, DenseElementsAttr::get(t, v));
  }
  Value zerosLike(Value v) {
    auto t = tty(v);
    return b.create<ConstantOp>(loc, t, DenseElementsAttr::get(t, 0.0f));
  }
  /// Sums g back to `like`'s shape if broadcasting stretched it.
  Value sumTo(Value g, Value like) {
    if (tty(g).getShape() == tty(like).getShape()) return g;
    return b.create<SumToOp>(loc, RankedTensorType::get(tty(like).getShape(), b.getF32Type()), g);
  }
  Value mul(Value x, Value y) { return b.create<MulOp>(loc, bcast(x, y), x, y); }
  Value div(Value x, Value y) { return b.create<DivOp>(loc, bcast(x, y), x, y); }
  Value sub(Value x, Value y) { return b.create<SubOp>(loc, bcast(x, y), x, y); }
  Value neg(Value x) { return b.create<NegOp>(loc, x.getType(), x); }
  Value where(Value c, Value x, Value y) {
    return b.create<WhereOp>(loc, bcast(bcastMask(c, x), y), c, x, y);
  }
  Value gt(Value x, Value y) {
    return b.create<GtOp>(loc, RankedTensorType::get(bcast(x, y).getShape(), b.getI1Type()), x, y);
  }
  Value eq(Value x, Value y) {
    return b.create<EqOp>(loc, RankedTensorType::get(bcast(x, y).getShape(), b.getI1Type()), x, y);
  }
  Value broadcast(Value x, ArrayRef<int64_t> shape) {
    if (tty(x).getShape() == shape) return x;
    return b.create<BroadcastOp>(loc, RankedTensorType::get(shape, tty(x).getElementType()), x);
  }
  Value reshape(Value x, ArrayRef<int64_t> shape) {
    if (tty(x).getShape() == shape) return x;
    return b.create<ReshapeOp>(loc, RankedTensorType::get(shape, tty(x).getElementType()), x);
  }
  /// Swaps the last two dims.
  Value transposeLast(Value x) {
    int64_t r = tty(x).getRank();
    SmallVector<int64_t> perm;
    for (int64_t i = 0; i < r; ++i) perm.push_back(i);
    std::swap(perm[r - 1], perm[r - 2]);
    SmallVector<int64_t> shape(tty(x).getShape());
    std::swap(shape[r - 1], shape[r - 2]);
    return b.create<TransposeOp>(loc, RankedTensorType::get(shape, b.getF32Type()), x,
                                 b.getDenseI64ArrayAttr(perm));
  }
  Value matmul(Value x, Value y) {
    auto xs = tty(x).getShape(), ys = tty(y).getShape();
    // Leading dims broadcast; result [..., M, N].
    size_t rank = std::max(xs.size(), ys.size());
    SmallVector<int64_t> out(rank);
    for (size_t i = 0; i < rank - 2; ++i) {
      int64_t a = i + xs.size() >= rank ? xs[i + xs.size() - rank] : 1;
      int64_t c = i + ys.size() >= rank ? ys[i + ys.size() - rank] : 1;
      out[i] = std::max(a, c);
    }
    out[rank - 2] = xs[xs.size() - 2];
    out[rank - 1] = ys[ys.size() - 1];
    return b.create<MatmulOp>(loc, RankedTensorType::get(out, b.getF32Type()), x, y);
  }
  /// Reduction result with the axis kept as 1.
  Value sumKeep(Value x, int64_t axis) {
    SmallVector<int64_t> shape(tty(x).getShape());
    int64_t a = axis < 0 ? axis + (int64_t)shape.size() : axis;
    shape[a] = 1;
    return b.create<SumOp>(loc, RankedTensorType::get(shape, b.getF32Type()), x,
                           b.getI64IntegerAttr(axis), b.getBoolAttr(true));
  }

  RankedTensorType bcast(Value x, Value y) {
    auto xs = tty(x).getShape(), ys = tty(y).getShape();
    size_t rank = std::max(xs.size(), ys.size());
    SmallVector<int64_t> out(rank);
    for (size_t i = 0; i < rank; ++i) {
      int64_t a = i < xs.size() ? xs[xs.size() - 1 - i] : 1;
      int64_t c = i < ys.size() ? ys[ys.size() - 1 - i] : 1;
      out[rank - 1 - i] = a == 1 ? c : a;
    }
    return RankedTensorType::get(out, b.getF32Type());
  }
  Value bcastMask(Value c, Value x) {  // shape carrier for where()'s first two operands
    (void)c;
    return x;
  }
};

}  // namespace

// Elementwise binary ops ------------------------------------------------------

SmallVector<Value> AddOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  return {h.sumTo(g[0], getLhs()), h.sumTo(g[0], getRhs())};
}

SmallVector<Value> SubOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  return {h.sumTo(g[0], getLhs()), h.sumTo(h.neg(g[0]), getRhs())};
}

SmallVector<Value> MulOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  return {h.sumTo(h.mul(g[0], getRhs()), getLhs()), h.sumTo(h.mul(g[0], getLhs()), getRhs())};
}

SmallVector<Value> DivOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // d(a/b)/da = 1/b;  d(a/b)/db = -(a/b)/b
  G h{b, getLoc()};
  Value da = h.div(g[0], getRhs());
  Value db = h.neg(h.div(h.mul(g[0], getResult()), getRhs()));
  return {h.sumTo(da, getLhs()), h.sumTo(db, getRhs())};
}

SmallVector<Value> WhereOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  Value zero = h.scalar(0.0f);
  Value da = b.create<WhereOp>(getLoc(), g[0].getType(), getCond(), g[0], zero);
  Value db = b.create<WhereOp>(getLoc(), g[0].getType(), getCond(), zero, g[0]);
  return {Value(), h.sumTo(da, getA()), h.sumTo(db, getB())};
}

// Elementwise unary ops -------------------------------------------------------

SmallVector<Value> NegOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {G{b, getLoc()}.neg(g[0])};
}

SmallVector<Value> ExpOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {G{b, getLoc()}.mul(g[0], getResult())};  // d e^x = e^x
}

SmallVector<Value> LogOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {G{b, getLoc()}.div(g[0], getX())};  // d log x = 1/x
}

SmallVector<Value> SqrtOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};  // d sqrt x = 1 / (2 sqrt x)
  return {h.div(h.mul(g[0], h.scalar(0.5f)), getResult())};
}

SmallVector<Value> RsqrtOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};  // d x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  Value y = getResult();
  return {h.mul(h.mul(g[0], h.scalar(-0.5f)), h.mul(y, h.mul(y, y)))};
}

SmallVector<Value> TanhOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};  // d tanh x = 1 - y^2
  Value y = getResult();
  return {h.mul(g[0], h.sub(h.scalar(1.0f), h.mul(y, y)))};
}

SmallVector<Value> ReluOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // relu(x) > 0 exactly when x > 0; reading the result rather than x lets the
  // compiled backend fold bias and relu into the matmul before them (its
  // pre-activation is then never stored).
  G h{b, getLoc()};
  Value mask = h.gt(getResult(), h.scalar(0.0f));
  return {b.create<WhereOp>(getLoc(), g[0].getType(), mask, g[0], h.scalar(0.0f))};
}

SmallVector<Value> GeluOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<GeluGradOp>(getLoc(), g[0].getType(), getX(), g[0])};
}

// Linear algebra and layout ---------------------------------------------------

SmallVector<Value> MatmulOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // C = A @ B:  dA = dC @ B^T,  dB = A^T @ dC, each summed over broadcast batch dims.
  G h{b, getLoc()};
  Value a = getLhs(), bb = getRhs();
  Value da = h.matmul(g[0], h.transposeLast(bb));
  Value db;
  if (tty(bb).getRank() == 2 && tty(a).getRank() > 2) {
    // A weight shared across the batch: fold the leading dims into rows so
    // dB is one [K, rows] @ [rows, N] product instead of a batch then a sum.
    auto as = tty(a).getShape(), gs = tty(g[0]).getShape();
    int64_t rows = 1;
    for (size_t i = 0; i + 1 < as.size(); ++i) rows *= as[i];
    Value a2 = h.reshape(a, {rows, as.back()});
    Value g2 = h.reshape(g[0], {rows, gs.back()});
    db = h.matmul(h.transposeLast(a2), g2);
  } else {
    db = h.matmul(h.transposeLast(a), g[0]);
  }
  return {h.sumTo(da, a), h.sumTo(db, bb)};
}

SmallVector<Value> TransposeOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  ArrayRef<int64_t> perm = getPerm();
  SmallVector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = i;
  return {b.create<TransposeOp>(getLoc(), getX().getType(), g[0], b.getDenseI64ArrayAttr(inv))};
}

SmallVector<Value> ReshapeOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<ReshapeOp>(getLoc(), getX().getType(), g[0])};
}

SmallVector<Value> BroadcastOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<SumToOp>(getLoc(), getX().getType(), g[0])};
}

SmallVector<Value> SumToOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<BroadcastOp>(getLoc(), getX().getType(), g[0])};
}

// Reductions and normalizations ---------------------------------------------

/// The result gradient reshaped to keep the reduced axis (as size 1).
static Value keepAxis(G &h, Value g, Value x, int64_t axis, bool keepdim) {
  if (keepdim) return g;
  SmallVector<int64_t> shape(tty(x).getShape());
  int64_t a = axis < 0 ? axis + (int64_t)shape.size() : axis;
  shape[a] = 1;
  return h.reshape(g, shape);
}

SmallVector<Value> SumOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  return {h.broadcast(keepAxis(h, g[0], getX(), getAxis(), getKeepdim()), tty(getX()).getShape())};
}

SmallVector<Value> MeanOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  G h{b, getLoc()};
  // getAxis() is unsigned (an I64Attr); as int64_t, -1 is the last axis.
  int64_t rank = tty(getX()).getRank(), axis = (int64_t)getAxis();
  int64_t n = tty(getX()).getShape()[axis < 0 ? axis + rank : axis];
  Value scaled = h.mul(keepAxis(h, g[0], getX(), getAxis(), getKeepdim()), h.scalar(1.0f / n));
  return {h.broadcast(scaled, tty(getX()).getShape())};
}

SmallVector<Value> MaxOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // The gradient flows to the maximal elements (to all of them on ties).
  G h{b, getLoc()};
  Value m = keepAxis(h, getResult(), getX(), getAxis(), getKeepdim());
  Value mask = h.eq(getX(), m);
  Value gk = keepAxis(h, g[0], getX(), getAxis(), getKeepdim());
  return {b.create<WhereOp>(getLoc(), getX().getType(), mask, gk, h.scalar(0.0f))};
}

SmallVector<Value> SoftmaxOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // dx = y * (dy - sum(dy * y)), as one fused op
  return {b.create<SoftmaxGradOp>(getLoc(), getType(), getResult(), g[0], getAxisAttr())};
}

SmallVector<Value> LogSoftmaxOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // dx = dy - exp(y) * sum(dy)
  G h{b, getLoc()};
  Value p = b.create<ExpOp>(getLoc(), getResult().getType(), getResult());
  return {h.sub(g[0], h.mul(p, h.sumKeep(g[0], getAxis())))};
}

SmallVector<Value> LayerNormOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  auto grads = b.create<LayerNormGradOp>(getLoc(), getX().getType(), getGamma().getType(),
                                         getGamma().getType(), getX(), getGamma(), g[0], getEps());
  return {grads.getDx(), grads.getDgamma(), grads.getDbeta()};
}

SmallVector<Value> SdpaOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // One fused backward op; it recomputes the probabilities from lse.
  G h{b, getLoc()};
  Value dout = g[0] ? g[0] : h.zerosLike(getOut());
  auto grads = b.create<SdpaGradOp>(getLoc(), getQ().getType(), getK().getType(), getV().getType(),
                                    getQ(), getK(), getV(), getOut(), getLse(), dout, g[1],
                                    getKeyPadding(), getCausalAttr(), getScaleAttr(),
                                    getTokenMajorAttr());
  SmallVector<Value> out = {grads.getDq(), grads.getDk(), grads.getDv()};
  if (getKeyPadding()) out.push_back(Value());
  return out;
}

// Embeddings, randomness, loss ------------------------------------------------

SmallVector<Value> GatherOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<ScatterAddOp>(getLoc(), getTable().getType(), g[0], getIds()), Value()};
}

SmallVector<Value> DropoutOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  // Same (p, seed) and the same step: the same mask and scale.
  return {b.create<DropoutOp>(getLoc(), g[0].getType(), g[0], getPAttr(), getSeedAttr())};
}

SmallVector<Value> CrossEntropyOp::buildGradient(OpBuilder &b, ArrayRef<Value> g) {
  return {b.create<CrossEntropyGradOp>(getLoc(), getLogits().getType(), getLogits(), getTargets(),
                                       g[0], getSmoothingAttr(), getIgnoreIndexAttr()),
          Value()};
}

}  // namespace heed
