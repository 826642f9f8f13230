//===- HeedToLinalg.cpp - one lowering template per op family -------------===//
//
// Elementwise ops (with numpy broadcasting) become one linalg.generic each,
// whose indexing maps encode the broadcast; reductions become linalg.generic
// with reduction iterators; layout ops become linalg.transpose and
// tensor.collapse_shape/expand_shape. linalg-fuse-elementwise-ops then fuses
// the chains, so a whole group is a few loops over memory.
//
//===----------------------------------------------------------------------===//

#include "compiler/lowering/HeedToLinalg.h"

#include "ops/HeedDialect.h"
#include "runtime/kernels/Reference.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

using namespace mlir;

namespace heed {
namespace {

using utils::IteratorType;

RankedTensorType tt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// The map from the loop space of `out` (rank R) into operand `in`'s index space
/// under numpy broadcasting: leading dims dropped, size-1 dims pinned to 0.
AffineMap broadcastMap(RankedTensorType in, ArrayRef<int64_t> out, MLIRContext *ctx) {
  int64_t r = out.size(), ri = in.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < ri; ++i) {
    int64_t o = r - ri + i;
    if (in.getShape()[i] == 1 && out[o] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(o, ctx));
  }
  return AffineMap::get(r, 0, exprs, ctx);
}

Value emptyLike(OpBuilder &b, Location loc, RankedTensorType t) {
  return b.create<tensor::EmptyOp>(loc, t.getShape(), t.getElementType());
}

/// out = f(inputs...) elementwise, inputs broadcast to the result type.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultTy, ValueRange inputs,
                  function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs) maps.push_back(broadcastMap(tt(in), resultTy.getShape(), ctx));
  maps.push_back(AffineMap::getMultiDimIdentityMap(resultTy.getRank(), ctx));
  SmallVector<IteratorType> iters(resultTy.getRank(), IteratorType::parallel);
  auto g = b.create<linalg::GenericOp>(
      loc, TypeRange{resultTy}, inputs, ValueRange{emptyLike(b, loc, resultTy)}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        nb.create<linalg::YieldOp>(nl, r);
      });
  return g.getResult(0);
}

Value f32c(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr((float)v));
}

/// Reduces `x` over the dims where `outShape` (same rank as x, or broadcast-aligned)
/// is 1 but x is not, and over leading dims x has beyond outShape. `combine` folds
/// an element into the accumulator; `init` fills it. With `wide`, the accumulator is
/// f64 (sums: the reference kernels also accumulate in double, so both backends
/// round alike) and the result is truncated to f32 at the end.
Value reduceTo(OpBuilder &b, Location loc, Value x, RankedTensorType outTy, double init,
               function_ref<Value(OpBuilder &, Location, Value, Value)> combine, bool wide = false) {
  MLIRContext *ctx = b.getContext();
  auto xs = tt(x).getShape();
  int64_t r = xs.size(), ro = outTy.getRank();
  SmallVector<AffineExpr> outExprs;
  SmallVector<IteratorType> iters(r, IteratorType::reduction);
  for (int64_t i = 0; i < ro; ++i) {
    int64_t d = r - ro + i;
    if (outTy.getShape()[i] == 1 && xs[d] != 1) {
      outExprs.push_back(getAffineConstantExpr(0, ctx));
    } else {
      outExprs.push_back(getAffineDimExpr(d, ctx));
      iters[d] = IteratorType::parallel;
    }
  }
  Type accElt = wide ? (Type)b.getF64Type() : outTy.getElementType();
  auto accTy = RankedTensorType::get(outTy.getShape(), accElt);
  Value initV = wide ? (Value)b.create<arith::ConstantOp>(loc, b.getF64FloatAttr(init))
                     : f32c(b, loc, init);
  Value acc = b.create<linalg::FillOp>(loc, ValueRange{initV}, ValueRange{emptyLike(b, loc, accTy)})
                  .getResult(0);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(r, ctx),
                                 AffineMap::get(r, 0, outExprs, ctx)};
  auto g = b.create<linalg::GenericOp>(
      loc, TypeRange{accTy}, ValueRange{x}, ValueRange{acc}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value v = wide ? (Value)nb.create<arith::ExtFOp>(nl, nb.getF64Type(), args[0]) : args[0];
        nb.create<linalg::YieldOp>(nl, combine(nb, nl, args[1], v));
      });
  if (!wide) return g.getResult(0);
  return elementwise(b, loc, outTy, ValueRange{g.getResult(0)}, [](OpBuilder &nb, Location l, ValueRange v) {
    return nb.create<arith::TruncFOp>(l, nb.getF32Type(), v[0]).getResult();
  });
}

/// Reshape for static shapes: collapse to 1-D, then expand (always valid).
Value reshape(OpBuilder &b, Location loc, Value x, RankedTensorType to) {
  RankedTensorType from = tt(x);
  if (from.getShape() == to.getShape()) return x;
  if (from.getRank() == 0)
    return b.create<tensor::ExpandShapeOp>(loc, to, x, ArrayRef<ReassociationIndices>{});
  if (to.getRank() == 0)
    return b.create<tensor::CollapseShapeOp>(loc, to, x, ArrayRef<ReassociationIndices>{});
  Value flat = x;
  if (from.getRank() != 1) {
    ReassociationIndices all;
    for (int64_t i = 0; i < from.getRank(); ++i) all.push_back(i);
    auto flatTy = RankedTensorType::get({from.getNumElements()}, from.getElementType());
    flat = b.create<tensor::CollapseShapeOp>(loc, flatTy, x, ArrayRef<ReassociationIndices>{all});
  }
  if (to.getRank() == 1) return flat;
  ReassociationIndices all;
  for (int64_t i = 0; i < to.getRank(); ++i) all.push_back(i);
  return b.create<tensor::ExpandShapeOp>(loc, to, flat, ArrayRef<ReassociationIndices>{all});
}

/// The same reduction result shaped with the axis kept as 1.
RankedTensorType keepAxisType(RankedTensorType x, int64_t axis) {
  SmallVector<int64_t> s(x.getShape());
  s[axis] = 1;
  return RankedTensorType::get(s, x.getElementType());
}

int64_t normAxis(int64_t axis, int64_t rank) { return axis < 0 ? axis + rank : axis; }

Value maxf(OpBuilder &b, Location l, Value acc, Value x) { return b.create<arith::MaximumFOp>(l, acc, x); }
Value addf(OpBuilder &b, Location l, Value acc, Value x) { return b.create<arith::AddFOp>(l, acc, x); }

/// softmax / log_softmax along an axis: max, exp(x - max), sum, then divide (or subtract the log).
Value softmax(OpBuilder &b, Location loc, Value x, int64_t axis, bool log) {
  RankedTensorType xt = tt(x);
  int64_t a = normAxis(axis, xt.getRank());
  RankedTensorType kt = keepAxisType(xt, a);
  Value mx = reduceTo(b, loc, x, kt, -std::numeric_limits<double>::infinity(), maxf);
  Value shifted = elementwise(b, loc, xt, ValueRange{x, mx}, [](OpBuilder &nb, Location l, ValueRange v) {
    return nb.create<arith::SubFOp>(l, v[0], v[1]).getResult();
  });
  Value e = elementwise(b, loc, xt, ValueRange{shifted}, [](OpBuilder &nb, Location l, ValueRange v) {
    return nb.create<math::ExpOp>(l, v[0]).getResult();
  });
  Value sum = reduceTo(b, loc, e, kt, 0.0, addf, /*wide=*/true);
  if (log)
    return elementwise(b, loc, xt, ValueRange{shifted, sum}, [](OpBuilder &nb, Location l, ValueRange v) {
      return nb.create<arith::SubFOp>(l, v[0], nb.create<math::LogOp>(l, v[1])).getResult();
    });
  return elementwise(b, loc, xt, ValueRange{e, sum}, [](OpBuilder &nb, Location l, ValueRange v) {
    return nb.create<arith::DivFOp>(l, v[0], v[1]).getResult();
  });
}

Value gelu(OpBuilder &b, Location l, Value x) {
  // 0.5 x (1 + erf(x / sqrt 2))
  Value t = b.create<math::ErfOp>(l, b.create<arith::MulFOp>(l, x, f32c(b, l, M_SQRT1_2)));
  return b.create<arith::MulFOp>(l, b.create<arith::MulFOp>(l, x, f32c(b, l, 0.5)),
                                 b.create<arith::AddFOp>(l, t, f32c(b, l, 1.0)));
}

Value geluGrad(OpBuilder &b, Location l, Value x, Value dy) {
  // d/dx = 0.5 (1 + erf(x/sqrt2)) + x * exp(-x^2/2) / sqrt(2 pi)
  Value cdf = b.create<arith::MulFOp>(
      l, f32c(b, l, 0.5),
      b.create<arith::AddFOp>(l, f32c(b, l, 1.0),
                              b.create<math::ErfOp>(l, b.create<arith::MulFOp>(l, x, f32c(b, l, M_SQRT1_2)))));
  Value x2 = b.create<arith::MulFOp>(l, x, x);
  Value pdf = b.create<arith::MulFOp>(
      l, b.create<math::ExpOp>(l, b.create<arith::MulFOp>(l, x2, f32c(b, l, -0.5))),
      f32c(b, l, 0.3989422804014327));
  Value d = b.create<arith::AddFOp>(l, cdf, b.create<arith::MulFOp>(l, x, pdf));
  return b.create<arith::MulFOp>(l, d, dy);
}

/// Lowers one op; returns its replacement or null if unsupported.
Value lowerOp(Operation *op, OpBuilder &b) {
  Location loc = op->getLoc();
  auto resTy = op->getNumResults() ? dyn_cast<RankedTensorType>(op->getResult(0).getType())
                                   : RankedTensorType();
  auto binary = [&](auto make) {
    return elementwise(b, loc, resTy, op->getOperands(), [&](OpBuilder &nb, Location l, ValueRange v) {
      return make(nb, l, v[0], v[1]);
    });
  };
  auto unary = [&](auto make) {
    return elementwise(b, loc, resTy, op->getOperands(), [&](OpBuilder &nb, Location l, ValueRange v) {
      return make(nb, l, v[0]);
    });
  };
  auto cmp = [&](arith::CmpFPredicate f, arith::CmpIPredicate i) {
    return binary([=](OpBuilder &nb, Location l, Value x, Value y) -> Value {
      if (isa<FloatType>(x.getType())) return nb.create<arith::CmpFOp>(l, f, x, y);
      return nb.create<arith::CmpIOp>(l, i, x, y);
    });
  };

  if (isa<AddOp>(op)) return binary([](OpBuilder &nb, Location l, Value x, Value y) -> Value { return nb.create<arith::AddFOp>(l, x, y); });
  if (isa<SubOp>(op)) return binary([](OpBuilder &nb, Location l, Value x, Value y) -> Value { return nb.create<arith::SubFOp>(l, x, y); });
  if (isa<MulOp>(op)) return binary([](OpBuilder &nb, Location l, Value x, Value y) -> Value { return nb.create<arith::MulFOp>(l, x, y); });
  if (isa<DivOp>(op)) return binary([](OpBuilder &nb, Location l, Value x, Value y) -> Value { return nb.create<arith::DivFOp>(l, x, y); });
  if (isa<EqOp>(op)) return cmp(arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq);
  if (isa<NeOp>(op)) return cmp(arith::CmpFPredicate::UNE, arith::CmpIPredicate::ne);
  if (isa<LtOp>(op)) return cmp(arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt);
  if (isa<LeOp>(op)) return cmp(arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle);
  if (isa<GtOp>(op)) return cmp(arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt);
  if (isa<GeOp>(op)) return cmp(arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge);
  if (isa<WhereOp>(op))
    return elementwise(b, loc, resTy, op->getOperands(), [](OpBuilder &nb, Location l, ValueRange v) {
      return nb.create<arith::SelectOp>(l, v[0], v[1], v[2]).getResult();
    });
  if (isa<NegOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) -> Value { return nb.create<arith::NegFOp>(l, x); });
  if (isa<ExpOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) -> Value { return nb.create<math::ExpOp>(l, x); });
  if (isa<LogOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) -> Value { return nb.create<math::LogOp>(l, x); });
  if (isa<SqrtOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) -> Value { return nb.create<math::SqrtOp>(l, x); });
  // 1 / sqrt(x), as the reference kernel (math.rsqrt has no LLVM lowering).
  if (isa<RsqrtOp>(op))
    return unary([](OpBuilder &nb, Location l, Value x) -> Value {
      return nb.create<arith::DivFOp>(l, f32c(nb, l, 1.0), nb.create<math::SqrtOp>(l, x));
    });
  if (isa<TanhOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) -> Value { return nb.create<math::TanhOp>(l, x); });
  if (isa<ReluOp>(op))
    return unary([](OpBuilder &nb, Location l, Value x) -> Value {
      // max(x, 0) that keeps NaN like the reference (x > 0 ? x : 0).
      Value pos = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::OGT, x, f32c(nb, l, 0.0));
      return nb.create<arith::SelectOp>(l, pos, x, f32c(nb, l, 0.0));
    });
  if (isa<GeluOp>(op)) return unary([](OpBuilder &nb, Location l, Value x) { return gelu(nb, l, x); });
  if (isa<GeluGradOp>(op)) return binary([](OpBuilder &nb, Location l, Value x, Value dy) { return geluGrad(nb, l, x, dy); });

  if (auto c = dyn_cast<ConstantOp>(op))
    return b.create<arith::ConstantOp>(loc, resTy, cast<TypedAttr>(c.getValue()));
  if (isa<SinusoidalOp>(op)) {
    // A compile-time table: the reference kernel computes it, so both paths agree.
    rt::Tensor t = rt::ref::sinusoidal(resTy.getShape()[0], resTy.getShape()[1]);
    return b.create<arith::ConstantOp>(
        loc, resTy, DenseElementsAttr::get(resTy, ArrayRef<float>(t.f32(), t.size())));
  }
  if (auto t = dyn_cast<TransposeOp>(op))
    return b.create<linalg::TransposeOp>(loc, t.getX(), emptyLike(b, loc, resTy), t.getPerm())
        .getResult()[0];
  if (auto r = dyn_cast<ReshapeOp>(op)) return reshape(b, loc, r.getX(), resTy);
  if (auto bc = dyn_cast<BroadcastOp>(op))
    return elementwise(b, loc, resTy, ValueRange{bc.getX()},
                       [](OpBuilder &, Location, ValueRange v) { return v[0]; });
  if (auto s = dyn_cast<SumToOp>(op)) return reduceTo(b, loc, s.getX(), resTy, 0.0, addf, true);

  auto reduceAxis = [&](Value x, int64_t axis, bool keep, double init, auto combine, bool wide) {
    RankedTensorType xt = tt(x);
    RankedTensorType kt = keepAxisType(xt, normAxis(axis, xt.getRank()));
    Value r = reduceTo(b, loc, x, kt, init, combine, wide);
    return keep ? r : reshape(b, loc, r, resTy);
  };
  if (auto s = dyn_cast<SumOp>(op)) return reduceAxis(s.getX(), s.getAxis(), s.getKeepdim(), 0.0, addf, true);
  if (auto m = dyn_cast<MaxOp>(op))
    return reduceAxis(m.getX(), m.getAxis(), m.getKeepdim(), -std::numeric_limits<double>::infinity(), maxf, false);
  if (auto m = dyn_cast<MeanOp>(op)) {
    Value s = reduceAxis(m.getX(), m.getAxis(), m.getKeepdim(), 0.0, addf, true);
    int64_t n = tt(m.getX()).getShape()[normAxis(m.getAxis(), tt(m.getX()).getRank())];
    return elementwise(b, loc, resTy, ValueRange{s}, [n](OpBuilder &nb, Location l, ValueRange v) {
      return nb.create<arith::DivFOp>(l, v[0], f32c(nb, l, (double)n)).getResult();
    });
  }
  if (auto s = dyn_cast<SoftmaxOp>(op)) return softmax(b, loc, s.getX(), s.getAxis(), false);
  if (auto s = dyn_cast<SoftmaxGradOp>(op)) {
    // y * (dy - sum(dy * y)) with the sum accumulated in f64
    RankedTensorType yt = tt(s.getY());
    RankedTensorType kt = keepAxisType(yt, normAxis(s.getAxis(), yt.getRank()));
    Value prod = elementwise(b, loc, yt, ValueRange{s.getDy(), s.getY()}, [](OpBuilder &nb, Location l, ValueRange v) {
      return nb.create<arith::MulFOp>(l, v[0], v[1]).getResult();
    });
    Value dot = reduceTo(b, loc, prod, kt, 0.0, addf, /*wide=*/true);
    return elementwise(b, loc, yt, ValueRange{s.getY(), s.getDy(), dot}, [](OpBuilder &nb, Location l, ValueRange v) {
      return nb.create<arith::MulFOp>(l, v[0], nb.create<arith::SubFOp>(l, v[1], v[2])).getResult();
    });
  }
  if (auto s = dyn_cast<LogSoftmaxOp>(op)) return softmax(b, loc, s.getX(), s.getAxis(), true);
  return nullptr;
}

}  // namespace

bool hasLinalgLowering(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, EqOp, NeOp, LtOp, LeOp, GtOp, GeOp, WhereOp, NegOp, ExpOp,
             LogOp, SqrtOp, RsqrtOp, TanhOp, ReluOp, GeluOp, GeluGradOp, ConstantOp, SinusoidalOp,
             TransposeOp, ReshapeOp, BroadcastOp, SumToOp, SumOp, MaxOp, MeanOp, SoftmaxOp,
             SoftmaxGradOp, LogSoftmaxOp>(op);
}

LogicalResult lowerHeedToLinalg(func::FuncOp fn) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (isa<HeedDialect>(op->getDialect())) ops.push_back(op);
  });
  OpBuilder b(fn.getContext());
  for (Operation *op : ops) {
    b.setInsertionPoint(op);
    Value r = lowerOp(op, b);
    if (!r)
      return op->emitError() << "'" << op->getName() << "' has no lowering to linalg";
    op->getResult(0).replaceAllUsesWith(r);
    op->erase();
  }
  return success();
}

}  // namespace heed
