//===- ModulePrecision.h - a module's matmul precision ----------*- C++ -*-===//
//
// A program's precision (runtime/Precision.h) is a compile-time setting: the
// module carries it as the string attribute `heed.precision` ("bf16"; absent
// means fp32), set by ModuleProgram before a backend runs. The reference
// matmul (ReferenceKernels.cpp) and the compiled backend's matmul library
// calls (compiler/compiled/LibraryCalls.cpp) both read it here.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Precision.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

namespace heed {

constexpr const char *kPrecisionAttr = "heed.precision";

inline rt::Precision modulePrecision(mlir::ModuleOp m) {
  if (!m) return rt::Precision::F32;
  auto a = m->getAttrOfType<mlir::StringAttr>(kPrecisionAttr);
  return a && a.getValue() == "bf16" ? rt::Precision::BF16 : rt::Precision::F32;
}

/// The precision of the module that holds `op` (fp32 outside a module).
inline rt::Precision precisionOf(mlir::Operation *op) {
  return modulePrecision(op->getParentOfType<mlir::ModuleOp>());
}

inline void setModulePrecision(mlir::ModuleOp m, rt::Precision p) {
  if (p == rt::Precision::BF16) m->setAttr(kPrecisionAttr, mlir::StringAttr::get(m.getContext(), "bf16"));
  else m->removeAttr(kPrecisionAttr);
}

}  // namespace heed
