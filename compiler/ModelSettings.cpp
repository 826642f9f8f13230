//===- ModelSettings.cpp --------------------------------------------------===//

#include "compiler/ModelSettings.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdio>

using namespace mlir;

namespace heed {

std::map<std::string, double> modelConfigOf(ModuleOp mod) {
  std::map<std::string, double> out;
  if (auto cfg = mod->getAttrOfType<DictionaryAttr>("heed.config"))
    for (NamedAttribute a : cfg) {
      if (auto i = dyn_cast<IntegerAttr>(a.getValue())) out[a.getName().str()] = (double)i.getInt();
      else if (auto f = dyn_cast<FloatAttr>(a.getValue())) out[a.getName().str()] = f.getValueAsDouble();
      else if (auto bl = dyn_cast<BoolAttr>(a.getValue())) out[a.getName().str()] = bl.getValue();
    }
  return out;
}

std::map<std::string, std::string> trainBlockOf(ModuleOp mod) {
  std::map<std::string, std::string> out;
  if (auto train = mod->getAttrOfType<DictionaryAttr>("heed.train"))
    for (NamedAttribute a : train) {
      std::string text;
      if (auto s = dyn_cast<StringAttr>(a.getValue())) text = s.str();
      else if (auto i = dyn_cast<IntegerAttr>(a.getValue())) text = std::to_string(i.getInt());
      else if (auto f = dyn_cast<FloatAttr>(a.getValue())) {
        char buf[32];
        snprintf(buf, sizeof buf, "%.9g", f.getValueAsDouble());
        text = buf;
      } else if (auto bl = dyn_cast<BoolAttr>(a.getValue())) text = bl.getValue() ? "true" : "false";
      out[a.getName().str()] = text;
    }
  return out;
}

}  // namespace heed
