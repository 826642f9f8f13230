//===- HeedToLinalg.h - fused heed groups to linalg on tensors --*- C++ -*-===//
#pragma once

#include "mlir/Support/LogicalResult.h"

namespace mlir {
class Operation;
namespace func {
class FuncOp;
}
}  // namespace mlir

namespace heed {

/// Rewrites every heed op in `fn` (a fused group: elementwise, broadcast,
/// reductions, layout, constants) into linalg/tensor/arith/math ops on tensors.
/// Fails, naming the op and its model line, on an op that has no such lowering.
mlir::LogicalResult lowerHeedToLinalg(mlir::func::FuncOp fn);

/// Can lowerHeedToLinalg handle this op?
bool hasLinalgLowering(mlir::Operation *op);

}  // namespace heed
