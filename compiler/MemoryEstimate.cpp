//===- MemoryEstimate.cpp -------------------------------------------------===//

#include "compiler/MemoryEstimate.h"

#include "ops/HeedDialect.h"
#include "ops/RuntimeTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <climits>

using namespace mlir;

namespace heed {
namespace {

int64_t addSat(int64_t a, int64_t b) { return a > INT64_MAX - b ? INT64_MAX : a + b; }

/// The live-set peak of one entry function, and its largest value.
int64_t peakOf(func::FuncOp fn, rt::TensorNeed &largest) {
  Block &body = fn.getBody().front();
  // The last op of the body that reads each value (reads inside nested regions
  // count for the op that holds them).
  llvm::DenseMap<Value, Operation *> lastUse;
  for (Operation &op : body)
    op.walk([&](Operation *inner) {
      for (Value v : inner->getOperands()) lastUse[v] = &op;
    });
  auto need = [&](Value v, const std::string &what) {
    rt::TensorNeed t{what, dtypeOf(v.getType()), shapeOf(v.getType())};
    if (t.bytes() > largest.bytes()) largest = t;
    return t.bytes();
  };
  const std::string entry = fn.getName().str();
  int64_t live = 0;
  for (BlockArgument a : body.getArguments())
    if (isa<RankedTensorType>(a.getType())) live = addSat(live, need(a, "an input of " + entry));
  int64_t peak = live;
  for (Operation &op : body) {
    if (isa<ParamOp>(op)) continue;  // the parameter store holds these
    for (Value r : op.getResults()) {
      if (!isa<RankedTensorType>(r.getType())) continue;
      std::string at = locationPrefix(op.getLoc());
      if (!at.empty()) at = " (" + at.substr(0, at.size() - 2) + ")";
      live = addSat(live, need(r, "a value of " + entry + at));
    }
    peak = std::max(peak, live);
    llvm::SmallPtrSet<void *, 8> freed;  // mul(x, x) frees x once
    for (Value v : op.getOperands()) {
      if (!freed.insert(v.getAsOpaquePointer()).second) continue;
      if (lastUse.lookup(v) != &op || isa<BlockArgument>(v) || isa_and_nonnull<ParamOp>(v.getDefiningOp()))
        continue;
      if (isa<func::ReturnOp>(op) || !isa<RankedTensorType>(v.getType())) continue;
      live -= rt::TensorNeed{"", dtypeOf(v.getType()), shapeOf(v.getType())}.bytes();
    }
  }
  return peak;
}

}  // namespace

void addActivationNeed(ModuleOp module, bool training, rt::MemoryNeed &need) {
  const rt::TensorNeed largestParam = need.largest;
  for (func::FuncOp fn : module.getOps<func::FuncOp>()) {
    if (!training && fn.getName() == "train_step") continue;
    rt::TensorNeed largest;
    int64_t peak = peakOf(fn, largest);
    if (peak > need.activationBytes) {
      need.activationBytes = peak;
      need.activationEntry = fn.getName().str();
      need.largest = largestParam;  // the largest value of the entry that needs most
      need.consider(largest);
    }
  }
}

}  // namespace heed
