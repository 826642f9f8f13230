//===- Codegen.h - linalg kernels to native code (JIT or object) -*- C++ -*-===//
//
// Takes a module of kernel functions on tensors (linalg/tensor/arith/math),
// bufferizes them in destination-passing style, lowers to the LLVM dialect
// with bare-pointer memref arguments, and adds for every kernel `k` a packed
// entry `k_packed(void **args)` (args[i] points at the i-th buffer pointer:
// inputs first, then outputs). The same symbols serve the JIT and the
// ahead-of-time object, so the runtime calls both the same way.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <memory>
#include <string>

namespace mlir {
class DialectRegistry;
class ExecutionEngine;
}  // namespace mlir

namespace heed {

/// The dialects, interfaces and translations the code generator uses.
void registerCodegenDialects(mlir::DialectRegistry &registry);

/// The two halves of the kernel pipeline (KernelPipeline.h sequences them):
/// elementwise fusion of linalg on tensors, then fused linalg -> LLVM dialect
/// with packed entries, in place. `vectorize` runs the vector stage
/// (CodegenVectorize.h) on the bufferized kernels; without it the loops are
/// scalar and LLVM's loop vectorizer does what it can.
mlir::LogicalResult fuseLinalg(mlir::ModuleOp module);
mlir::LogicalResult lowerLinalgToLLVM(mlir::ModuleOp module, bool vectorize);

/// A JIT-compiled kernel module (-O3, host CPU).
class JitKernels {
public:
  static std::unique_ptr<JitKernels> create(mlir::ModuleOp llvmDialectModule, std::string &error);
  ~JitKernels();
  using PackedFn = void (*)(void **);
  /// The packed entry of kernel `name`, or null.
  PackedFn lookup(const std::string &name);

private:
  std::unique_ptr<mlir::ExecutionEngine> engine;
};

enum class EmitKind { LLVMIR, Assembly, Object };
/// Translates an LLVM-dialect module to LLVM IR text, assembly or a PIC object file.
mlir::LogicalResult emitNative(mlir::ModuleOp llvmDialectModule, EmitKind kind, std::string &out,
                               std::string &error);

}  // namespace heed
