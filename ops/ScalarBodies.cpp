//===- ScalarBodies.cpp ---------------------------------------------------===//

#include "ops/ScalarBodies.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace heed::scalar {

Value f32(OpBuilder &b, Location loc, double v) {
  return b.create<arith::ConstantOp>(loc, b.getF32FloatAttr((float)v));
}

Value compare(OpBuilder &b, Location loc, Value x, Value y, arith::CmpFPredicate f,
              arith::CmpIPredicate i) {
  if (isa<FloatType>(x.getType())) return b.create<arith::CmpFOp>(loc, f, x, y);
  return b.create<arith::CmpIOp>(loc, i, x, y);
}

Value rsqrt(OpBuilder &b, Location loc, Value x) {
  return b.create<arith::DivFOp>(loc, f32(b, loc, 1.0), b.create<math::SqrtOp>(loc, x));
}

Value relu(OpBuilder &b, Location loc, Value x) {
  Value pos = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, f32(b, loc, 0.0));
  return b.create<arith::SelectOp>(loc, pos, x, f32(b, loc, 0.0));
}

Value gelu(OpBuilder &b, Location l, Value x) {
  Value t = b.create<math::ErfOp>(l, b.create<arith::MulFOp>(l, x, f32(b, l, M_SQRT1_2)));
  return b.create<arith::MulFOp>(l, b.create<arith::MulFOp>(l, x, f32(b, l, 0.5)),
                                 b.create<arith::AddFOp>(l, t, f32(b, l, 1.0)));
}

Value geluGrad(OpBuilder &b, Location l, Value x, Value dy) {
  Value cdf = b.create<arith::MulFOp>(
      l, f32(b, l, 0.5),
      b.create<arith::AddFOp>(l, f32(b, l, 1.0),
                              b.create<math::ErfOp>(l, b.create<arith::MulFOp>(l, x, f32(b, l, M_SQRT1_2)))));
  Value x2 = b.create<arith::MulFOp>(l, x, x);
  Value pdf = b.create<arith::MulFOp>(
      l, b.create<math::ExpOp>(l, b.create<arith::MulFOp>(l, x2, f32(b, l, -0.5))),
      f32(b, l, 0.3989422804014327));
  Value d = b.create<arith::AddFOp>(l, cdf, b.create<arith::MulFOp>(l, x, pdf));
  return b.create<arith::MulFOp>(l, d, dy);
}

}  // namespace heed::scalar
