//===- Partition.h - an entry point as a schedule of kernels ----*- C++ -*-===//
//
// Splits an entry function into steps, in program order:
//   - fused kernels: maximal runs of ops with a linalg lowering (elementwise,
//     broadcasts, reductions, layout, constants), each outlined into one
//     function of the kernel module and compiled by MLIR;
//   - library calls: matmul, layer norm, softmax-free loss, embedding gather
//     and scatter, dropout, parameters and the optimizer step, which run on
//     oneDNN or hand-written native kernels.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <string>
#include <vector>

namespace heed {

struct Step {
  enum Kind { Kernel, Library } kind;
  std::string kernel;                // Kernel: the function name in the kernel module
  mlir::Operation *op = nullptr;     // Library: the heed op
  std::vector<mlir::Value> inputs;   // values read (entry-function values)
  std::vector<mlir::Value> outputs;  // values written
  /// Library matmul: the input is the untransposed operand of a last-two-dims
  /// transpose that was absorbed into the call.
  bool transposeLhs = false, transposeRhs = false;
  /// Library matmul with an epilogue (matmulEpilogues()): its third input is a
  /// bias [N] added to every row, then `act` ("relu", "gelu" or "") applied;
  /// with `residual` its last input, of the result's shape, is added after
  /// that (a residual connection or a gradient sum). Its output is the last
  /// op of the chain. Library dropout and layer_norm_grad with `residual`:
  /// their last input r is added to their (first) result as they write it
  /// (`r + dropout(x)`, `dx + r`), and that output is the absorbed add's.
  bool bias = false, residual = false;
  std::string act;
  /// The heed ops this step runs: a kernel's group, or a library op followed
  /// by the ops its call absorbed (epilogue ops, transposes read as strides).
  std::vector<mlir::Operation *> ops;
  /// Kernel: compiled for 1/chunks of the rows (RowSplit.h) when chunks > 1;
  /// splitArgs[i] says whether argument i (inputs, then outputs) is row-split
  /// or passed whole; partialOutputs[j] whether output j is a per-chunk partial
  /// sum (then splitArgs is false for it).
  int64_t chunks = 1;
  std::vector<bool> splitArgs, partialOutputs;
  /// Kernel at bf16 precision: the outputs (indices) that bf16 matmuls read,
  /// whose bf16 copy the kernel writes as extra results after its outputs, in
  /// this order (Bf16Copies.h). Row-split like the output each rounds.
  std::vector<int> bf16Outputs;
};

struct Schedule {
  std::vector<Step> steps;
  int64_t kernels = 0, libraryCalls = 0;
  /// Matmul FLOPs of one run (2*M*N*K per product).
  double flops = 0;
};

/// Row chunks of a row-wise fused kernel (the executor runs them on the OpenMP
/// threads): 2, or HEED_ROW_CHUNKS (1 turns splitting off, e.g. to measure it).
/// Both knobs are read at each compile.
int64_t rowChunks();
/// The least number of elements a kernel writes (or reads from its largest input)
/// worth splitting it for: 32768, or
/// HEED_ROW_SPLIT_MIN_ELEMENTS (tests set 1 to split every row-wise kernel).
int64_t rowSplitMinElements();

/// Bias adds and ReLU/GELU run as oneDNN post-ops of the matmul producing
/// them (where nothing else reads the intermediate values): on, or
/// HEED_MATMUL_EPILOGUES=0 to keep them in fused kernels. Read at each compile.
bool matmulEpilogues();
/// A same-shape add after the matmul (and its bias/activation) runs as the
/// matmul's oneDNN sum post-op, and one after a dropout or layer_norm_grad's dx
/// in their native pass: on (with matmulEpilogues()), or HEED_MATMUL_RESIDUAL=0
/// to keep them in fused kernels.
bool matmulResidualEpilogues();

/// The partition's knobs; the defaults are the environment's (above), which is
/// what the compiled backend uses. The heed-partition pass exposes them as options.
struct PartitionOptions {
  int64_t rowChunks = heed::rowChunks();
  int64_t rowSplitMinElements = heed::rowSplitMinElements();
  bool epilogues = matmulEpilogues();
  bool residualEpilogues = matmulResidualEpilogues();
  /// False: no fusion at all, every heed op its own kernel or library call (no
  /// epilogues, no absorbed transposes), so that each schedule step runs one op.
  /// Only the checked replay of a non-finite or diverged step uses it
  /// (compiler/session/NanReplay.h), to check every op's results.
  bool fuse = true;
};

/// Partitions `fn` and outlines its fused groups into `kernelModule` as
/// functions named `<prefix><n>` on tensors (still heed ops; lower them with
/// lowerHeedToLinalg).
Schedule partition(mlir::func::FuncOp fn, mlir::ModuleOp kernelModule, const std::string &prefix,
                   const PartitionOptions &options = {});

/// Partitions every function of the training module and outlines all fused
/// groups into one kernel module (still heed ops, one function per kernel);
/// `schedules` gets each entry's schedule.
mlir::OwningOpRef<mlir::ModuleOp> outlineKernels(mlir::ModuleOp trainingModule,
                                                 std::map<std::string, Schedule> &schedules,
                                                 const PartitionOptions &options = {});

/// Writes the schedule's decisions onto the IR, so they print and can be
/// FileCheck'ed (the heed-partition pass; the compiled backend does not call
/// it): every op of `fn` a step runs gets `heed.kernel = "<kernel>"` or
/// `heed.library = "<call>"` (e.g. "matmul(transpose_rhs) + bias + relu +
/// residual"); ops a call absorbed get `heed.absorbed = "epilogue"` or
/// `"strides"`; each kernel function of `kernelModule` that is row-split gets
/// `heed.row_chunks` and `heed.row_split` (per argument: split or whole) and
/// `heed.partial_outputs`.
void annotateSchedule(mlir::func::FuncOp fn, const Schedule &schedule, mlir::ModuleOp kernelModule);

/// "matmul(transpose_rhs) + bias + relu + residual": a library step's call.
std::string libraryCallName(const Step &step);

/// One comment line per step of `schedule` (`heed emit --stage fused`): which
/// ops became which library call (with its epilogue) or kernel, and which
/// kernels are row-split (their types show 1/chunks of the rows).
void printSchedule(const Schedule &schedule, llvm::raw_ostream &os);

}  // namespace heed
