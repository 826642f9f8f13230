//===- CompiledProgram.h - the compiled backend -----------------*- C++ -*-===//
//
// Every entry point is partitioned into fused kernels (lowered through linalg
// to native code by MLIR and JIT-compiled) and library calls (oneDNN and
// native kernels), then run as a schedule by the runtime's executor
// (runtime/compiled/Executor.h), which also runs compiled artifacts. Results match the reference
// interpreter up to float rounding (tests/unit/compiled checks it per op and
// per example).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/ModuleProgram.h"
#include "compiler/interp/Interpreter.h"
#include "frontend/ImportToIR.h"
#include "runtime/Program.h"
#include "runtime/compiled/GradientBuckets.h"

#include <memory>
#include <string>

namespace heed {

struct CompileStats {
  int64_t kernels = 0, libraryCalls = 0;
  int64_t rowSplitKernels = 0;   // kernels run as row chunks on the threads
  int64_t residualEpilogues = 0; // matmuls that add a same-shape input as a sum post-op
  double flopsPerStep = 0;       // matmul FLOPs of train_step
  int64_t plannedPeakBytes = 0;  // largest live set of train_step's buffers
  double compileSeconds = 0;
  rt::Precision precision = rt::Precision::F32;  // the matmul precision compiled in
  /// train_step's gradient buckets (runtime/compiled/GradientBuckets.h).
  std::vector<rt::GradientBucketInfo> gradientBuckets;
};

/// Null after printing located errors.
std::unique_ptr<rt::Program> buildCompiledProgram(const std::string &modelPath,
                                                  const ImportOptions &options,
                                                  CompileStats *stats = nullptr);

/// A compiled program whose runs can be watched op by op: built with fusion off
/// (PartitionOptions::fuse), every schedule step runs one heed op, and
/// runObserved calls `afterOp` after each step with that op, its operands and
/// its results, as the interpreter's hook does (Interpreter.h). The compiled
/// mode of the checked replay (compiler/session/NanReplay.h): it names the op
/// behind a NaN that the compiled kernels' rounding makes and the reference's
/// does not. The kernels are those of the compiled backend, one op each.
class ObservableProgram : public ModuleProgram {
public:
  /// Throws rt::Error (and whatever `afterOp` throws).
  virtual std::vector<rt::Tensor> runObserved(const std::string &entry, const std::vector<rt::Tensor> &inputs,
                                              rt::RunContext &ctx, AfterOp afterOp) = 0;
};

/// The model on the compiled backend with fusion off; null after printing
/// located errors.
std::unique_ptr<ObservableProgram> buildUnfusedCompiledProgram(const std::string &modelPath,
                                                               const ImportOptions &options);

/// `heed compile`: compiles the model's kernels to a PIC object (no JIT), links
/// it into kernels.so with the system C compiler and writes the artifact
/// directory `outDir` (manifest.json, kernels.o, kernels.so; see
/// runtime/compiled/Manifest.h), atomically: built in outDir.tmp, then renamed.
/// Refuses to replace anything but an earlier artifact or an empty directory.
/// False after printing errors.
bool compileArtifact(const std::string &modelPath, const ImportOptions &options,
                     const std::string &outDir, CompileStats *stats = nullptr);

/// "reference" or "compiled"; null (after printing) for anything else or on errors.
std::unique_ptr<rt::Program> buildProgram(const std::string &backend, const std::string &modelPath,
                                          const ImportOptions &options);

}  // namespace heed
