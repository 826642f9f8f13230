//===- ImportToIR.h - model AST to heed-dialect IR -------------*- C++ -*-===//
//
// Resolves names, evaluates config, unrolls blocks and `repeat`, creates
// parameters with deterministic dot-path names, checks every shape with the
// shared rules (in the user's dimension names) and builds one `func.func
// @forward` in the heed dialect. Every op gets the FileLineColLoc of the model
// text it came from. Errors go to the MLIRContext's diagnostic handler.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "runtime/Precision.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class SourceMgr;
}

namespace heed {

struct ImportOptions {
  /// `--set key=value`: replaces (or adds) a config entry before evaluation.
  std::map<std::string, std::string> overrides;
  /// Binds the `batch` dimension. Otherwise: config `batch`, then `train { batch }`,
  /// then kDefaultBatch.
  std::optional<int64_t> batch;
  /// Check each `init: load("x.npy")` file (it exists, is f32, has the parameter's
  /// shape) while importing, so `heed check` reports it at its line. Off only when
  /// a model is rebuilt from a checkpoint, whose parameters come from the checkpoint.
  bool checkInitFiles = true;
  /// The program is built to train: the memory check (runtime/MemoryBudget.h)
  /// counts Adam's moments and train_step. False to evaluate or decode.
  bool training = true;
  /// The matmul precision to compile (runtime/Precision.h); nullopt: the model's
  /// `train { precision }`, else fp32. Applied by ModuleProgram, not the importer.
  std::optional<rt::Precision> precision;
  /// The entry points to compile (names the model lacks are ignored); empty:
  /// all. The others keep their signatures (Program::entry) but cannot run:
  /// `heed eval` of an encoder-decoder compiles encode, decode and the decode
  /// step, not train_step. Applied by ModuleProgram, not the importer.
  std::vector<std::string> entries;
};

constexpr int64_t kDefaultBatch = 8;

/// Returns the module, or null after reporting at least one error.
mlir::OwningOpRef<mlir::ModuleOp> importModel(const ast::Module &module, llvm::SourceMgr &sm,
                                              mlir::MLIRContext &ctx,
                                              const ImportOptions &options);

}  // namespace heed
