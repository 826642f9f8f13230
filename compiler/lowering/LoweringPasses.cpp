//===- LoweringPasses.cpp - makes the lowering passes available by name ---===//

#include "compiler/lowering/LoweringPasses.h"

#include "compiler/lowering/CodegenVectorize.h"

#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"

void heed::registerLoweringPasses() {
  mlir::registerPass([] { return createPartitionPass(); });
  mlir::registerPass([] { return createHeedToLinalgPass(); });
  mlir::registerPass([] { return createVectorizeKernelsPass(); });
}
