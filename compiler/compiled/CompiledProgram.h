//===- CompiledProgram.h - the compiled backend -----------------*- C++ -*-===//
//
// Every entry point is partitioned into fused kernels (lowered through linalg
// to native code by MLIR and JIT-compiled) and library calls (oneDNN and
// native kernels), then run as a schedule. Results match the reference
// interpreter up to float rounding (tests/unit/compiled checks it per op and
// per example).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/ImportToIR.h"
#include "runtime/Program.h"

#include <memory>
#include <string>

namespace heed {

struct CompileStats {
  int64_t kernels = 0, libraryCalls = 0;
  double flopsPerStep = 0;       // matmul FLOPs of train_step
  int64_t plannedPeakBytes = 0;  // largest live set of train_step's buffers
  double compileSeconds = 0;
};

/// Null after printing located errors.
std::unique_ptr<rt::Program> buildCompiledProgram(const std::string &modelPath,
                                                  const ImportOptions &options,
                                                  CompileStats *stats = nullptr);

/// "reference" or "compiled"; null (after printing) for anything else or on errors.
std::unique_ptr<rt::Program> buildProgram(const std::string &backend, const std::string &modelPath,
                                          const ImportOptions &options);

}  // namespace heed
