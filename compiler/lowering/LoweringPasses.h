//===- LoweringPasses.h - the compiled backend's steps as passes -*- C++ -*-===//
//
// The compiled backend (compiler/compiled/CompiledProgram.cpp) calls partition
// and lowerHeedToLinalg as functions; these passes run the same functions on IR
// text, so `heed-opt` and lit tests can show and pin their decisions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <memory>

namespace mlir {
class Pass;
}  // namespace mlir

namespace heed {

/// heed-partition: partitions every function of the module (Partition.h),
/// writes the decisions onto its ops (annotateSchedule) and appends the
/// outlined fused kernels as a nested `module @kernels`.
std::unique_ptr<mlir::Pass> createPartitionPass();

/// heed-to-linalg: lowerHeedToLinalg on a function of fused-group ops (a
/// kernel of heed-partition's `@kernels` module); fails on any other op.
std::unique_ptr<mlir::Pass> createHeedToLinalgPass();

/// Registers heed-partition, heed-to-linalg and heed-vectorize-kernels
/// (CodegenVectorize.h) for textual pipelines.
void registerLoweringPasses();

}  // namespace heed
