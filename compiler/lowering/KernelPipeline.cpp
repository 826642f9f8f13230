//===- KernelPipeline.cpp -------------------------------------------------===//

#include "compiler/lowering/KernelPipeline.h"

#include "compiler/lowering/Codegen.h"
#include "compiler/lowering/HeedToLinalg.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace heed {

FailureOr<KernelModule> buildKernelModule(ModuleOp trainingModule, KernelStage stage) {
  MLIRContext *ctx = trainingModule.getContext();
  DialectRegistry registry;
  registerCodegenDialects(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadAllAvailableDialects();

  KernelModule km;
  km.kernels = outlineKernels(trainingModule, km.schedules);
  if (stage == KernelStage::Fused) return km;
  for (func::FuncOp k : km.kernels->getOps<func::FuncOp>())
    if (failed(lowerHeedToLinalg(k))) return failure();
  if (failed(fuseLinalg(*km.kernels))) return failure();
  if (stage == KernelStage::Linalg) return km;
  if (failed(lowerLinalgToLLVM(*km.kernels))) {
    emitError(trainingModule.getLoc()) << "internal error: the kernels did not lower to LLVM";
    return failure();
  }
  return km;
}

}  // namespace heed
