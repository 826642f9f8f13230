//===- LibraryCalls.h - ops the compiled backend runs as library calls ----===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir {
class Operation;
}

namespace heed {

/// Runs one library op (matmul, layer norm, loss, gather/scatter, dropout,
/// param, optimizer step) with the fastest kernel available for it.
/// `transposeLhs/Rhs` (matmul only): that input holds the operand with its last two
/// dims swapped (an absorbed transpose).
void runLibraryCall(mlir::Operation *op, llvm::ArrayRef<rt::Tensor> inputs,
                    llvm::SmallVectorImpl<rt::Tensor> &outputs, rt::RunContext &ctx,
                    bool transposeLhs = false, bool transposeRhs = false);

}  // namespace heed
