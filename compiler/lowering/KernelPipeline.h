//===- KernelPipeline.h - a training module's fused kernels, stage by stage -*- C++ -*-===//
//
// The one sequence from a training module to its kernel module, shared by the
// compiled backend (CompiledProgram, which goes to the LLVM dialect and then JITs
// or emits an object) and `heed emit --stage fused|linalg|llvm-dialect|...`
// (which stops at the stage it shows):
//   outlineKernels (Partition.h)            -> Fused: one func per group, heed ops
//   lowerHeedToLinalg, then fuseLinalg      -> Linalg: linalg on tensors, fused
//   lowerLinalgToLLVM (Codegen.h)           -> LLVMDialect: bufferized, vectorized,
//                                              LLVM dialect with packed entries
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/lowering/Partition.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace heed {

enum class KernelStage { Fused, Linalg, LLVMDialect };

struct KernelModule {
  mlir::OwningOpRef<mlir::ModuleOp> kernels;
  std::map<std::string, Schedule> schedules;  // per entry point
  /// Kernels that only reshape their arguments (from the Linalg stage on): the
  /// executor hands out the argument's storage with the new shape instead
  /// (rt::PlanStep::Kind::Alias), so they are removed from `kernels`. Per kernel,
  /// for each result, the argument it reshapes. A kernel whose result is also a
  /// result of its entry point stays a kernel (the caller gets its own buffer).
  std::map<std::string, std::vector<int>> reshapeAliases;
};

/// Registers and loads the code generator's dialects in the training module's
/// context, partitions every entry point and lowers the kernels to `stage`.
/// Emits diagnostics and fails if a kernel does not lower. `onStage` (may be
/// empty) hears "partition into kernels" and "lower to LLVM" as they begin, for
/// a long compile's progress lines (compiler/CompileProgress.h). `partition`:
/// the partition's knobs (Partition.h; the checked replay turns fusion off).
mlir::FailureOr<KernelModule> buildKernelModule(mlir::ModuleOp trainingModule, KernelStage stage,
                                                const std::function<void(const char *)> &onStage = {},
                                                const PartitionOptions &partition = {});

}  // namespace heed
