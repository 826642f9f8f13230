//===- Pipeline.cpp -------------------------------------------------------===//

#include "compiler/Pipeline.h"
#include "compiler/passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

namespace heed {

static void addDecompose(PassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createDecomposePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

LogicalResult runDecomposePipeline(ModuleOp module) {
  PassManager pm(module.getContext());
  addDecompose(pm);
  return pm.run(module);
}

LogicalResult runTrainingPipeline(ModuleOp module, bool withDecodeStep) {
  PassManager pm(module.getContext());
  addDecompose(pm);
  pm.addPass(createAutodiffPass());
  pm.addPass(createSplitStagesPass());
  if (withDecodeStep) pm.addPass(createDecodeStepPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return pm.run(module);
}

}  // namespace heed
