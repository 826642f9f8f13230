//===- Interpreter.h - runs heed IR op by op ---------------------*- C++ -*-===//
//
// The reference backend and the oracle: every op is run with its reference
// kernel (ReferenceKernelInterface). Tensors are freed after their last use.
// A kernel error (an out-of-range token id, ...) is reported with the model
// line of the op that failed.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/ArrayRef.h"

#include <vector>

namespace mlir::func {
class FuncOp;
}

namespace heed {

/// Runs `fn` on `inputs` (one per argument, matching its types). Throws rt::Error.
std::vector<rt::Tensor> interpret(mlir::func::FuncOp fn, llvm::ArrayRef<rt::Tensor> inputs,
                                  rt::RunContext &ctx);

}  // namespace heed
