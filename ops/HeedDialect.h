//===- HeedDialect.h - the heed dialect and its ops -------------*- C++ -*-===//
//
// Heavy (pulls in MLIR IR headers): include only from ops/, compiler/, tools/
// and frontend/ImportToIR, never from runtime/ or widely included headers.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ops/HeedDialect.h.inc"

#define GET_OP_CLASSES
#include "ops/HeedOps.h.inc"

namespace heed {
/// Registers the dialects heed IR uses (heed, func, builtin) into `registry`.
void registerHeedDialects(mlir::DialectRegistry &registry);
}  // namespace heed
