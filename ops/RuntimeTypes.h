//===- RuntimeTypes.h - IR types and locations in runtime terms -*- C++ -*-===//
//
// The few conversions every backend needs between the heed dialect and the
// runtime: a tensor type's dtype and shape, and an op location as the
// "file:line:col: " prefix of a run-time error message.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Program.h"
#include "runtime/Tensor.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Location.h"

#include <string>

namespace heed {

inline rt::DType dtypeOf(mlir::Type t) {
  mlir::Type e = mlir::cast<mlir::RankedTensorType>(t).getElementType();
  if (e.isF32()) return rt::DType::F32;
  if (e.isF64()) return rt::DType::F64;
  if (e.isInteger(32)) return rt::DType::I32;
  if (e.isInteger(1)) return rt::DType::Bool;
  return rt::DType::I64;
}

inline rt::Shape shapeOf(mlir::Type t) {
  auto s = mlir::cast<mlir::RankedTensorType>(t).getShape();
  return rt::Shape(s.begin(), s.end());
}

/// An entry point's argument or result as the runtime sees it: its type, and the
/// heed.name / heed.dims attributes the frontend put on it.
inline rt::TensorSpec tensorSpecOf(mlir::Type t, mlir::DictionaryAttr attrs) {
  rt::TensorSpec s;
  s.shape = shapeOf(t);
  s.dtype = dtypeOf(t);
  if (attrs) {
    if (auto n = attrs.getAs<mlir::StringAttr>("heed.name")) s.name = n.str();
    if (auto d = attrs.getAs<mlir::ArrayAttr>("heed.dims"))
      for (mlir::Attribute a : d) s.dims.push_back(mlir::cast<mlir::StringAttr>(a).str());
  }
  return s;
}

/// The model-file location inside `loc` (looking through name, call-site and
/// fused locations), or null if there is none.
inline mlir::FileLineColLoc modelFileLoc(mlir::Location loc) {
  if (auto f = mlir::dyn_cast<mlir::FileLineColLoc>(loc)) return f;
  if (auto n = mlir::dyn_cast<mlir::NameLoc>(loc)) return modelFileLoc(n.getChildLoc());
  if (auto c = mlir::dyn_cast<mlir::CallSiteLoc>(loc)) return modelFileLoc(c.getCallee());
  if (auto f = mlir::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location l : f.getLocations())
      if (mlir::FileLineColLoc s = modelFileLoc(l)) return s;
  return {};
}

/// "model.heed:12:5: " for a model-file location, "" if there is none.
inline std::string locationPrefix(mlir::Location loc) {
  if (mlir::FileLineColLoc f = modelFileLoc(loc))
    return f.getFilename().str() + ":" + std::to_string(f.getLine()) + ":" +
           std::to_string(f.getColumn()) + ": ";
  return "";
}

}  // namespace heed
