//===- Registration.cpp - makes heed passes available by name -------------===//

#include "compiler/passes/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void heed::registerHeedPasses() {
  mlir::registerPass([] { return createDecomposePass(); });
  mlir::registerPass([] { return createAutodiffPass(); });
  mlir::registerPass([] { return createSplitStagesPass(); });
  mlir::registerPass([] { return createDecodeStepPass(); });
  // Upstream passes heed pipelines use (registering all of them costs a minute of build).
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
}
