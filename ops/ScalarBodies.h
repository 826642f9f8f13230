//===- ScalarBodies.h - scalar bodies too long for an op record -*- C++ -*-===//
//
// Elementwise ops declare their scalar body in HeedOps.td; the bodies of more
// than one line live here. Each builds, at `b`'s insertion point, the same
// arithmetic as the op's reference kernel (runtime/kernels/Reference.cpp).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace heed::scalar {

mlir::Value f32(mlir::OpBuilder &b, mlir::Location loc, double v);
/// A comparison of f32 or i32 elements (the predicate that fits the type).
mlir::Value compare(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value y,
                    mlir::arith::CmpFPredicate f, mlir::arith::CmpIPredicate i);
/// 1 / sqrt(x), as the reference kernel (math.rsqrt has no LLVM lowering).
mlir::Value rsqrt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// x > 0 ? x : 0, which keeps NaN like the reference.
mlir::Value relu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// 0.5 x (1 + erf(x / sqrt 2)).
mlir::Value gelu(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x);
/// dy * (0.5 (1 + erf(x / sqrt 2)) + x exp(-x^2 / 2) / sqrt(2 pi)).
mlir::Value geluGrad(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x, mlir::Value dy);

}  // namespace heed::scalar
