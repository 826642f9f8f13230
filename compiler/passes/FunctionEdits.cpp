//===- FunctionEdits.cpp --------------------------------------------------===//

#include "compiler/passes/FunctionEdits.h"

#include "ops/HeedDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace heed {

void keepResults(func::FuncOp fn, ArrayRef<unsigned> keep) {
  auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
  SmallVector<Value> vals;
  SmallVector<Type> types;
  SmallVector<DictionaryAttr> attrs;
  for (unsigned i : keep) {
    vals.push_back(ret.getOperand(i));
    types.push_back(ret.getOperand(i).getType());
    DictionaryAttr a = fn.getResultAttrDict(i);
    attrs.push_back(a ? a : DictionaryAttr::get(fn.getContext()));
  }
  OpBuilder b(ret);
  b.create<func::ReturnOp>(ret.getLoc(), vals);
  ret.erase();
  fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(), types));
  fn.setAllResultAttrs(attrs);
}

void pruneDeadCode(func::FuncOp fn) {
  Block &body = fn.getBody().front();
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body))) {
      if (op.hasTrait<OpTrait::IsTerminator>() || !op.use_empty() || isa<OptimizerStepOp>(op))
        continue;
      op.erase();
      changed = true;
    }
  }
  llvm::BitVector unused(fn.getNumArguments());
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (fn.getArgument(i).use_empty()) unused.set(i);
  (void)fn.eraseArguments(unused);
}

}  // namespace heed
