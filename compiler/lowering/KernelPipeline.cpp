//===- KernelPipeline.cpp -------------------------------------------------===//

#include "compiler/lowering/KernelPipeline.h"

#include "compiler/lowering/Bf16Copies.h"
#include "compiler/lowering/Codegen.h"
#include "compiler/lowering/CodegenVectorize.h"
#include "compiler/lowering/HeedToLinalg.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

namespace heed {

namespace {

/// For a kernel whose body is only tensor reshapes, the argument each result
/// reshapes; empty if it computes anything.
std::vector<int> reshapedArguments(func::FuncOp k) {
  std::vector<int> args;
  Operation *ret = k.getBody().front().getTerminator();
  for (Operation &op : k.getBody().front())
    if (&op != ret && !isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op)) return {};
  for (Value v : ret->getOperands()) {
    while (Operation *def = v.getDefiningOp()) v = def->getOperand(0);
    args.push_back(cast<BlockArgument>(v).getArgNumber());
  }
  return args;
}

int64_t elementsOf(Value v) { return cast<ShapedType>(v.getType()).getNumElements(); }

/// Fills `km.reshapeAliases` and drops those kernels from the module.
void aliasReshapeKernels(KernelModule &km) {
  for (auto &[entry, sched] : km.schedules)
    for (const Step &s : sched.steps) {
      if (s.kind != Step::Kernel) continue;
      auto k = km.kernels->lookupSymbol<func::FuncOp>(s.kernel);
      std::vector<int> args = k ? reshapedArguments(k) : std::vector<int>();
      if (args.empty() || args.size() != s.outputs.size()) continue;
      bool ok = true;
      for (size_t j = 0; j < args.size(); ++j) {
        Value out = s.outputs[j], in = s.inputs[args[j]];
        ok = ok && elementsOf(out) == elementsOf(in) &&
             getElementTypeOrSelf(out.getType()) == getElementTypeOrSelf(in.getType()) &&
             llvm::none_of(out.getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); });
      }
      if (!ok) continue;
      km.reshapeAliases[s.kernel] = args;
      k.erase();
    }
}

}  // namespace

FailureOr<KernelModule> buildKernelModule(ModuleOp trainingModule, KernelStage stage,
                                          const std::function<void(const char *)> &onStage,
                                          const PartitionOptions &partition) {
  auto begin = [&](const char *what) {
    if (onStage) onStage(what);
  };
  MLIRContext *ctx = trainingModule.getContext();
  DialectRegistry registry;
  registerCodegenDialects(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadAllAvailableDialects();

  KernelModule km;
  begin("partition into kernels");
  km.kernels = outlineKernels(trainingModule, km.schedules, partition);
  if (stage == KernelStage::Fused) return km;
  begin("lower to LLVM");
  for (func::FuncOp k : km.kernels->getOps<func::FuncOp>())
    if (failed(lowerHeedToLinalg(k))) return failure();
  if (failed(fuseLinalg(*km.kernels))) return failure();
  aliasReshapeKernels(km);
  // bf16 copies of the results bf16 matmuls read, fused into the loops writing them.
  if (addBf16Copies(km) && failed(fuseLinalg(*km.kernels))) return failure();
  if (stage == KernelStage::Linalg) return km;
  if (failed(lowerLinalgToLLVM(*km.kernels, vectorizeKernelsEnabled()))) {
    emitError(trainingModule.getLoc()) << "internal error: the kernels did not lower to LLVM";
    return failure();
  }
  return km;
}

}  // namespace heed
