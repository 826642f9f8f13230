//===- FunctionEdits.h - edits shared by the entry-point passes -*- C++ -*-===//
//
// heed-autodiff and heed-split-stages derive entry points by cloning @forward
// and cutting it down; these are the cuts.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace heed {

/// Keeps only the results at `keep` (with their attributes), in that order.
void keepResults(mlir::func::FuncOp fn, llvm::ArrayRef<unsigned> keep);

/// Erases ops whose results are unused (except heed.optimizer_step), then
/// arguments nothing uses; the runtime binds inputs by their heed.name.
void pruneDeadCode(mlir::func::FuncOp fn);

}  // namespace heed
