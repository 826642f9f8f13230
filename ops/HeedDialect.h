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

#include "runtime/RunContext.h"
#include "runtime/Tensor.h"

namespace heed {
/// Marks ops that take no gradient (masks, constants, backward-only ops).
template <typename ConcreteType>
class NoGradient : public mlir::OpTrait::TraitBase<ConcreteType, NoGradient> {};
/// Marks layer ops, which heed-decompose rewrites into primitives.
template <typename ConcreteType>
class Layer : public mlir::OpTrait::TraitBase<ConcreteType, Layer> {};
/// Marks layout ops and compile-time data, lowered by HeedToLinalg's templates.
template <typename ConcreteType>
class Layout : public mlir::OpTrait::TraitBase<ConcreteType, Layout> {};
}  // namespace heed

#include "ops/HeedDialect.h.inc"
#include "ops/HeedInterfaces.h.inc"

#define GET_OP_CLASSES
#include "ops/HeedOps.h.inc"

namespace heed {
/// Registers the dialects heed IR uses (heed, func, builtin) into `registry`.
void registerHeedDialects(mlir::DialectRegistry &registry);
}  // namespace heed
