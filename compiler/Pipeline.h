//===- Pipeline.h - the pass pipelines, built in one place ------*- C++ -*-===//
#pragma once

#include "mlir/Support/LogicalResult.h"

namespace mlir {
class ModuleOp;
}  // namespace mlir

namespace heed {

/// heed-decompose, canonicalize, CSE: what `heed emit --stage decomposed` shows.
mlir::LogicalResult runDecomposePipeline(mlir::ModuleOp module);

/// Decompose, then heed-autodiff, split-stages and cleanup: the module gets
/// @train_step, @eval and @forward (`heed emit --stage grad`), and with
/// `withDecodeStep` also @decode_init/@decode_step for incremental decoding
/// (not for training runs: compiling them would only lengthen the start).
mlir::LogicalResult runTrainingPipeline(mlir::ModuleOp module, bool withDecodeStep = true);

}  // namespace heed
