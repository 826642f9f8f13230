//===- LoweringRules.cpp - lowering choices that depend on the instance ---===//
//
// Most ops declare how they lower in their HeedOps.td record alone; the ops
// here override an interface default because the choice depends on attributes.
//
//===----------------------------------------------------------------------===//

#include "ops/HeedDialect.h"

using namespace mlir;

namespace heed {

static bool lastAxis(int64_t axis, Type t) {
  return axis == -1 || axis == cast<RankedTensorType>(t).getRank() - 1;
}

/// Softmax over the last axis runs on oneDNN; other axes are fused loops.
bool SoftmaxOp::prefersLibrary() { return lastAxis(getAxis(), getType()); }
bool SoftmaxGradOp::prefersLibrary() { return lastAxis(getAxis(), getType()); }

/// sum_to reduces the dims broadcasting added: they follow from the result shape.
int64_t SumToOp::reducedAxis() { return -1; }

}  // namespace heed
