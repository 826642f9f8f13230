//===- Pipeline.h - the pass pipelines, built in one place ------*- C++ -*-===//
#pragma once

#include "mlir/Support/LogicalResult.h"

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace heed {

/// heed-decompose, canonicalize, CSE: what `heed emit --stage decomposed` shows.
mlir::LogicalResult runDecomposePipeline(mlir::ModuleOp module);

/// Decompose, then heed-autodiff and cleanup: the module gets @train_step,
/// @eval and @forward (`heed emit --stage grad`).
mlir::LogicalResult runTrainingPipeline(mlir::ModuleOp module);

}  // namespace heed
