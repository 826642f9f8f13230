//===- Interpreter.h - runs heed IR op by op ---------------------*- C++ -*-===//
//
// The reference backend and the oracle: every op is run with its reference
// kernel (ReferenceKernelInterface). Tensors are freed after their last use.
// A kernel error (an out-of-range token id, ...) is reported with the model
// line of the op that failed. A checked run (compiler/session/NanReplay) passes
// `afterOp`, which sees every op with its operands and results.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <vector>

namespace mlir {
class Operation;
namespace func {
class FuncOp;
}
}  // namespace mlir

namespace heed {

/// Called after each op ran, with its operands and results; it may throw to stop the run.
using AfterOp = llvm::function_ref<void(mlir::Operation &op, llvm::ArrayRef<rt::Tensor> operands,
                                        llvm::ArrayRef<rt::Tensor> results)>;

/// Runs `fn` on `inputs` (one per argument, matching its types). Throws rt::Error.
std::vector<rt::Tensor> interpret(mlir::func::FuncOp fn, llvm::ArrayRef<rt::Tensor> inputs,
                                  rt::RunContext &ctx, AfterOp afterOp = {});

}  // namespace heed
