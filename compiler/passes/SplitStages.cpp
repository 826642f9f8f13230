//===- SplitStages.cpp - encoder/decoder entry points (heed-split-stages) -===//
//
// When one output of @forward feeds another (an encoder-decoder model outputs
// `memory` and the `logits` computed from it), decoding wants the two stages
// separately: run the encoder once per source, then the decoder once per
// output step. This pass adds
//
//   @encode(inputs the encoder uses)           -> (memory)
//   @decode(memory, inputs the decoder uses)   -> (the outputs computed from memory)
//
// leaving @forward as it is. Models without such an output are unchanged.
//
//===----------------------------------------------------------------------===//

#include "compiler/passes/FunctionEdits.h"
#include "compiler/passes/Passes.h"
#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace heed {
namespace {

/// Does `to` depend on `from`?
bool dependsOn(Value to, Value from) {
  SmallVector<Value> work{to};
  llvm::DenseSet<Value> seen;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (v == from) return true;
    if (!seen.insert(v).second) continue;
    if (Operation *def = v.getDefiningOp())
      for (Value o : def->getOperands()) work.push_back(o);
  }
  return false;
}

/// Keeps the results at `keep`, then removes dead ops and unused arguments.
void restrict(func::FuncOp fn, ArrayRef<unsigned> keep) {
  keepResults(fn, keep);
  pruneDeadCode(fn);
}

struct SplitStagesPass : PassWrapper<SplitStagesPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(SplitStagesPass)
  StringRef getArgument() const final { return "heed-split-stages"; }
  StringRef getDescription() const final {
    return "Add @encode and @decode when one output of @forward feeds another";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward || module.lookupSymbol("encode")) return;
    auto ret = cast<func::ReturnOp>(forward.getBody().front().getTerminator());
    unsigned n = ret.getNumOperands();
    for (unsigned m = 0; m < n; ++m) {
      SmallVector<unsigned> later;
      for (unsigned j = 0; j < n; ++j)
        if (j != m && dependsOn(ret.getOperand(j), ret.getOperand(m))) later.push_back(j);
      if (later.empty()) continue;
      if (isa<BlockArgument>(ret.getOperand(m))) continue;

      OpBuilder b(module.getBodyRegion());
      b.setInsertionPointAfter(forward);
      auto encode = cast<func::FuncOp>(b.clone(*forward));
      encode.setName("encode");
      restrict(encode, {m});

      b.setInsertionPointAfter(encode);
      auto decode = cast<func::FuncOp>(b.clone(*forward));
      decode.setName("decode");
      // The stage boundary becomes the first argument.
      auto dret = cast<func::ReturnOp>(decode.getBody().front().getTerminator());
      Value boundary = dret.getOperand(m);
      DictionaryAttr boundaryAttrs = decode.getResultAttrDict(m);
      (void)decode.insertArgument(0, boundary.getType(), boundaryAttrs, boundary.getLoc());
      boundary.replaceAllUsesWith(decode.getArgument(0));
      restrict(decode, later);
      return;
    }
  }
};

}  // namespace

std::unique_ptr<Pass> createSplitStagesPass() { return std::make_unique<SplitStagesPass>(); }

}  // namespace heed
