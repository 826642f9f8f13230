//===- HeedToLinalg.cpp - one lowering template per op family -------------===//
//
// Which ops lower here, and how, is declared in their HeedOps.td records.
// Elementwise ops (with numpy broadcasting) become one linalg.generic each,
// whose indexing maps encode the broadcast and whose body is the record's; reductions become linalg.generic
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

/// Lowers one op; returns its replacement or null if unsupported.
Value lowerOp(Operation *op, OpBuilder &b) {
  Location loc = op->getLoc();
  auto resTy = op->getNumResults() ? dyn_cast<RankedTensorType>(op->getResult(0).getType())
                                   : RankedTensorType();
  // Elementwise ops: their record's scalar body inside one broadcasting generic.
  if (auto e = dyn_cast<ScalarBodyInterface>(op))
    return elementwise(b, loc, resTy, op->getOperands(), [&](OpBuilder &nb, Location l, ValueRange v) {
      return e.buildScalar(nb, l, v);
    });

  // Layout ops, constants and reductions: one template each.
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
  return isa<ScalarBodyInterface, ReductionInterface>(op) || op->hasTrait<Layout>();
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
