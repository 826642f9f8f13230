//===- Executor.h - run a partitioned entry point ---------------*- C++ -*-===//
//
// An entry point of the compiled backend is a Plan: a table of values (dtype
// and shape, numbered from 0; the entry's arguments come first) and a schedule
// of steps in program order. A kernel step calls a generated kernel's packed
// entry `fn(void **args)` (args[i] points at the i-th buffer pointer: the
// inputs, then the freshly allocated outputs); a library step runs a LibraryOp.
// After each step the values whose last use it was are released (liveness,
// computed once by computeLiveness). The JIT backend
// (compiler/compiled/CompiledProgram.cpp) and compiled artifacts
// (ArtifactProgram.h) both run entries with execute(). No MLIR here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"
#include "runtime/compiled/ExecProfile.h"
#include "runtime/compiled/LibraryOp.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace heed::rt {

using PackedKernelFn = void (*)(void **);

struct ValueInfo {
  DType dtype = DType::F32;
  Shape shape;
  int64_t bytes() const { return numElements(shape) * (int64_t)dtypeSize(dtype); }
};

struct PlanStep {
  /// Alias: a kernel that only reshapes its inputs. Output j is input aliasOf[j]
  /// with the output's shape, sharing its storage (no copy, no kernel call).
  enum class Kind : uint8_t { Kernel, Library, Alias } kind = Kind::Kernel;
  std::string kernel;           // Kernel: the kernel's symbol (its packed entry is kernel + "_packed")
  PackedKernelFn fn = nullptr;  // Kernel: bound by the backend before execute()
  LibraryOp op;                 // Library
  std::vector<int> inputs, outputs;  // value ids
  std::vector<int> release;          // value ids dead after this step (computeLiveness)
  /// Kernel compiled for 1/chunks of the rows: execute() calls it `chunks` times
  /// in parallel, chunk c with argument i (inputs, then outputs) offset by
  /// c * chunkBytes[i] bytes (0: the argument is read whole by every chunk).
  int64_t chunks = 1;
  std::vector<int64_t> chunkBytes;
  /// Outputs (indices into `outputs`, f32) that each chunk writes as a partial
  /// sum into its own slot of a scratch buffer (chunk c at c * chunkBytes);
  /// execute() adds the slots in chunk order into the result.
  std::vector<int> partialOutputs;
  std::vector<int> aliasOf;  // Alias: per output, the index of the input it reshapes
  /// Kernel at bf16 precision: outputs (indices into `outputs`, f32) whose bf16
  /// copy the kernel writes in the same loop, as extra arguments after the
  /// outputs in this order; execute() passes the copy's buffer
  /// (native::bf16CopyFor), split into chunks at half the output's chunk bytes.
  /// The matmuls reading them take the copy (rt::assignBf16Inputs). JSON "bf16_outputs".
  std::vector<int> bf16Outputs;
};

struct Plan {
  std::string entry;
  std::vector<ValueInfo> values;
  std::vector<int> inputs;   // the entry's arguments, in order
  std::vector<int> outputs;  // the entry's results, in order
  std::vector<PlanStep> steps;
  /// Statistics: fused kernels and library calls per run, matmul FLOPs per run,
  /// and the largest live set of intermediate buffers in bytes (computeLiveness).
  int64_t kernels = 0, libraryCalls = 0;
  double flops = 0;
  int64_t peakBytes = 0;

  /// Fills every step's `release` and `peakBytes`: a value is released after the
  /// step that reads it last, unless it is an entry argument or a result.
  void computeLiveness();
  /// Throws rt::Error if value ids are out of range, a value is read before it is
  /// written, a kernel step has no symbol, or its chunks do not fit its buffers.
  void validate() const;
};

/// Hears each step once it ran: its index in plan.steps, its inputs and its
/// outputs (the checked replay of a step, compiler/session/NanReplay.h). It may
/// throw to stop the run.
using StepObserver =
    std::function<void(size_t step, const std::vector<Tensor> &inputs, const std::vector<Tensor> &outputs)>;

/// Runs `plan` (every kernel step's fn bound). Checks the inputs' dtypes and
/// shapes; throws rt::Error. Float32 only (ctx.f64 throws).
std::vector<Tensor> execute(const Plan &plan, const std::vector<Tensor> &inputs, RunContext &ctx,
                            ExecProfile *profile = nullptr, const StepObserver &observe = {});

nlohmann::json toJson(const Plan &plan);
/// Throws rt::Error or nlohmann::json::exception on a malformed plan; computes liveness.
Plan planFromJson(const nlohmann::json &j);

}  // namespace heed::rt
