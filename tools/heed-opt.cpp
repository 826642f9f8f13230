//===- heed-opt.cpp - runs heed passes on IR text (for lit tests) ---------===//

#include "compiler/lowering/LoweringPasses.h"
#include "compiler/passes/Passes.h"
#include "ops/HeedDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  heed::registerHeedDialects(registry);
  heed::registerHeedPasses();
  heed::registerLoweringPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "heed optimizer driver\n", registry));
}
