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
