//===- ModelSignature.cpp -------------------------------------------------===//

#include "compiler/export/ModelSignature.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "ops/RuntimeTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace heed {

ModelSignature signatureOf(ModuleOp imported) {
  ModelSignature sig;
  if (auto name = imported->getAttrOfType<StringAttr>("heed.model")) sig.model = name.str();
  if (auto config = imported->getAttrOfType<DictionaryAttr>("heed.config"))
    if (auto b = config.getAs<IntegerAttr>("batch")) sig.batch = b.getInt();
  auto fn = imported.lookupSymbol<func::FuncOp>("forward");
  if (!fn) return sig;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    sig.inputs.push_back(tensorSpecOf(fn.getArgumentTypes()[i], fn.getArgAttrDict(i)));
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    rt::TensorSpec s = tensorSpecOf(fn.getResultTypes()[i], fn.getResultAttrDict(i));
    if (fn.getResultAttr(i, "heed.loss")) sig.loss = s.name;
    else sig.outputs.push_back(s);
  }
  return sig;
}

const char *languageDtypeName(rt::DType t) {
  switch (t) {
  case rt::DType::F32: return "f32";
  case rt::DType::I32: return "i32";
  case rt::DType::Bool: return "bool";
  case rt::DType::I64: return "i64";
  case rt::DType::F64: return "f64";
  }
  return "?";
}

}  // namespace heed
