//===- HeedDialect.cpp - registers the heed dialect ----------------------===//

#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;

#include "ops/HeedDialect.cpp.inc"
#include "ops/HeedInterfaces.cpp.inc"

void heed::HeedDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ops/HeedOps.cpp.inc"
      >();
}

void heed::registerHeedDialects(DialectRegistry &registry) {
  registry.insert<heed::HeedDialect, func::FuncDialect>();
}
