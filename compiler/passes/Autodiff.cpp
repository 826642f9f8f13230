//===- Autodiff.cpp - reverse-mode autodiff as a graph transform ----------===//
//
// heed-autodiff turns the imported (and decomposed) @forward into three entry
// points:
//
//   @train_step(inputs) -> loss   forward with dropout, backward, optimizer_step
//   @eval(inputs)       -> loss   forward without dropout
//   @forward(inputs)    -> outputs (without the loss), without dropout
//
// The backward pass walks the forward ops in reverse, asks each op's gradient
// rule (GradientInterface) for its operand gradients and sums contributions
// where a value fans out. Frozen parameters get no gradient; the gradients of
// all others feed one heed.optimizer_step. Inputs an entry does not use are
// dropped from its signature (the runtime binds inputs by their heed.name).
//
//===----------------------------------------------------------------------===//

#include "compiler/passes/FunctionEdits.h"
#include "compiler/passes/Passes.h"
#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;

namespace heed {
namespace {

/// Dropout is identity outside training.
void removeDropout(func::FuncOp fn) {
  SmallVector<DropoutOp> drops;
  fn.walk([&](DropoutOp d) { drops.push_back(d); });
  for (DropoutOp d : drops) {
    d.replaceAllUsesWith(d.getX());
    d.erase();
  }
}

LogicalResult buildBackward(func::FuncOp fn, unsigned lossIndex) {
  Block &body = fn.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  Value loss = ret.getOperand(lossIndex);
  SmallVector<Operation *> forwardOps;
  for (Operation &op : body)
    if (&op != ret) forwardOps.push_back(&op);

  OpBuilder b(ret);
  llvm::DenseMap<Value, Value> grads;
  auto accumulate = [&](Value v, Value g, Location loc) {
    auto it = grads.find(v);
    if (it == grads.end()) {
      grads[v] = g;
      return;
    }
    it->second = b.create<AddOp>(loc, g.getType(), it->second, g);
  };
  auto scalarTy = RankedTensorType::get({}, b.getF32Type());
  grads[loss] = b.create<ConstantOp>(loss.getLoc(), scalarTy, DenseElementsAttr::get(scalarTy, 1.0f));

  for (Operation *op : llvm::reverse(forwardOps)) {
    if (llvm::none_of(op->getResults(), [&](Value r) { return grads.count(r); })) continue;
    if (op->hasTrait<NoGradient>()) continue;
    auto rule = dyn_cast<GradientInterface>(op);
    if (!rule)
      return op->emitError() << "'" << op->getName() << "' has no gradient rule"
                             << (op->hasTrait<Layer>() ? " (run heed-decompose first)" : "");
    SmallVector<Value> resultGrads;
    for (Value r : op->getResults()) resultGrads.push_back(grads.lookup(r));
    SmallVector<Value> operandGrads = rule.buildGradient(b, resultGrads);
    for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads))
      if (g) accumulate(operand, g, op->getLoc());
  }

  SmallVector<Value> paramGrads;
  SmallVector<Attribute> names;
  for (Operation *op : forwardOps) {
    auto p = dyn_cast<ParamOp>(op);
    if (!p || p.getFrozen()) continue;
    Value g = grads.lookup(p.getResult());
    if (!g) continue;  // does not reach the loss
    paramGrads.push_back(g);
    names.push_back(b.getStringAttr(p.getName()));
  }
  b.create<OptimizerStepOp>(fn.getLoc(), paramGrads, b.getArrayAttr(names));
  return success();
}

struct AutodiffPass : PassWrapper<AutodiffPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AutodiffPass)
  StringRef getArgument() const final { return "heed-autodiff"; }
  StringRef getDescription() const final {
    return "Build @train_step (forward, backward, optimizer step), @eval and @forward from "
           "the decomposed @forward";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError() << "heed-autodiff: no @forward function";
      return signalPassFailure();
    }
    int lossIndex = -1;
    for (unsigned i = 0; i < forward.getNumResults(); ++i)
      if (forward.getResultAttr(i, "heed.loss")) lossIndex = (int)i;

    SmallVector<unsigned> outputs;
    for (unsigned i = 0; i < forward.getNumResults(); ++i)
      if ((int)i != lossIndex) outputs.push_back(i);

    if (lossIndex >= 0) {
      OpBuilder b(module.getBodyRegion());
      b.setInsertionPointAfter(forward);
      auto train = cast<func::FuncOp>(b.clone(*forward));
      train.setName("train_step");
      keepResults(train, {(unsigned)lossIndex});
      pruneDeadCode(train);
      if (failed(buildBackward(train, 0))) return signalPassFailure();

      b.setInsertionPointAfter(train);
      auto eval = cast<func::FuncOp>(b.clone(*forward));
      eval.setName("eval");
      keepResults(eval, {(unsigned)lossIndex});
      removeDropout(eval);
      pruneDeadCode(eval);
    }
    if (!outputs.empty()) {
      keepResults(forward, outputs);
      removeDropout(forward);
      pruneDeadCode(forward);
    } else {
      forward.erase();  // a model with only a loss has no separate forward
    }
  }
};

}  // namespace

std::unique_ptr<Pass> createAutodiffPass() { return std::make_unique<AutodiffPass>(); }

}  // namespace heed
