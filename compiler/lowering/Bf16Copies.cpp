//===- Bf16Copies.cpp -----------------------------------------------------===//

#include "compiler/lowering/Bf16Copies.h"

#include "compiler/lowering/KernelPipeline.h"
#include "ops/HeedDialect.h"
#include "ops/ModulePrecision.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <cstdlib>
#include <functional>
#include <set>
#include <string>

using namespace mlir;

namespace heed {

namespace {

/// rt::toBf16Bits on a float32 scalar, as arith ops on its bits:
///   NaN (|u| > 0x7F800000): (u >> 16) | 0x40, i.e. (u | 0x400000) >> 16;
///   else (u + 0x7FFF + ((u >> 16) & 1)) >> 16.
Value roundToBf16(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type();
  auto c = [&](uint32_t v) { return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr((int32_t)v)); };
  Value u = b.create<arith::BitcastOp>(loc, i32, x);
  Value mag = b.create<arith::AndIOp>(loc, u, c(0x7FFFFFFFu));
  Value nan = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ugt, mag, c(0x7F800000u));
  Value sixteen = c(16);
  Value lsb = b.create<arith::AndIOp>(loc, b.create<arith::ShRUIOp>(loc, u, sixteen), c(1));
  Value rounded = b.create<arith::AddIOp>(loc, u, b.create<arith::AddIOp>(loc, lsb, c(0x7FFFu)));
  Value quiet = b.create<arith::OrIOp>(loc, u, c(0x400000u));
  Value bits = b.create<arith::SelectOp>(loc, nan, quiet, rounded);
  Value high = b.create<arith::TruncIOp>(loc, b.getI16Type(), b.create<arith::ShRUIOp>(loc, bits, sixteen));
  return b.create<arith::BitcastOp>(loc, b.getBF16Type(), high);
}

/// The bf16 rounding of tensor `x`, elementwise.
Value roundTensor(OpBuilder &b, Location loc, Value x) {
  auto t = cast<RankedTensorType>(x.getType());
  auto bt = RankedTensorType::get(t.getShape(), b.getBF16Type());
  Value init = b.create<tensor::EmptyOp>(loc, bt.getShape(), bt.getElementType());
  AffineMap id = AffineMap::getMultiDimIdentityMap(t.getRank(), b.getContext());
  SmallVector<utils::IteratorType> iters(t.getRank(), utils::IteratorType::parallel);
  auto g = b.create<linalg::GenericOp>(loc, TypeRange{bt}, ValueRange{x}, ValueRange{init},
                                       ArrayRef<AffineMap>{id, id}, iters,
                                       [](OpBuilder &nb, Location nl, ValueRange args) {
                                         nb.create<linalg::YieldOp>(nl, roundToBf16(nb, nl, args[0]));
                                       });
  return g.getResult(0);
}

/// Replaces `g` by the same loop with one more result: the bf16 rounding of
/// `value(body)` (a value of g's body: a yielded result or an input element),
/// written at `map`, in the same iteration (also where g reduces over other
/// dims, as with a bias gradient beside it). Returns the new result.
Value addRoundedResult(OpBuilder &b, linalg::GenericOp g, AffineMap map, ArrayRef<int64_t> shape,
                       const std::function<Value(Block &, ValueRange yielded)> &value) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPoint(g);
  Location loc = g.getLoc();
  Value init = b.create<tensor::EmptyOp>(loc, shape, b.getBF16Type());
  SmallVector<Value> outs(g.getDpsInits());
  outs.push_back(init);
  SmallVector<AffineMap> maps = g.getIndexingMapsArray();
  maps.push_back(map);
  SmallVector<Type> types(g->getResultTypes());
  types.push_back(init.getType());
  auto ng = b.create<linalg::GenericOp>(loc, types, g.getDpsInputs(), outs, maps, g.getIteratorTypesArray());
  ng.getRegion().takeBody(g.getRegion());
  Block &body = ng.getRegion().front();
  body.addArgument(b.getBF16Type(), loc);
  Operation *yield = body.getTerminator();
  OpBuilder yb(yield);
  SmallVector<Value> ys(yield->getOperands());
  ys.push_back(roundToBf16(yb, loc, value(body, ys)));
  yield->setOperands(ys);
  const unsigned n = g->getNumResults();
  for (unsigned i = 0; i < n; ++i) g->getResult(i).replaceAllUsesWith(ng->getResult(i));
  g->erase();
  return ng->getResult(n);
}

/// A loop that reads all of `x` (a kernel argument), one element per
/// iteration point, as input `index`: it can write x's rounding as it reads it.
linalg::GenericOp loopReadingWhole(Value x, unsigned &index) {
  for (OpOperand &use : x.getUses()) {
    auto g = dyn_cast<linalg::GenericOp>(use.getOwner());
    if (!g || !g.isDpsInput(&use)) continue;
    AffineMap map = g.getMatchingIndexingMap(&use);
    if (!map.isPermutation()) continue;
    index = use.getOperandNumber();
    return g;
  }
  return {};
}

/// `x` with its reshapes peeled off, and those reshapes (outermost first).
Value reshapeSource(Value x, SmallVectorImpl<Operation *> *reshapes = nullptr) {
  while (Operation *def = x.getDefiningOp()) {
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def)) break;
    if (reshapes) reshapes->push_back(def);
    x = def->getOperand(0);
  }
  return x;
}

/// The bf16 rounding of `x`: as one more result of the loop that computes it
/// (through reshapes, which the copy then gets too), else a loop of its own
/// that fusion merges into its producer where it can.
Value bf16Copy(OpBuilder &b, Location loc, Value x) {
  SmallVector<Operation *> reshapes;
  Value src = reshapeSource(x, &reshapes);
  Value r;
  unsigned in = 0;
  auto readIn = [&](linalg::GenericOp g, Value v) {
    return addRoundedResult(b, g, g.getIndexingMapsArray()[in], cast<ShapedType>(v.getType()).getShape(),
                            [in](Block &body, ValueRange) { return body.getArgument(in); });
  };
  if (auto g = src.getDefiningOp<linalg::GenericOp>()) {  // computed here: rounded as it is written
    const unsigned k = cast<OpResult>(src).getResultNumber();
    r = addRoundedResult(b, g, g.getIndexingMapMatchingResult(cast<OpResult>(src)),
                         cast<ShapedType>(src.getType()).getShape(), [k](Block &, ValueRange ys) { return ys[k]; });
  } else if (linalg::GenericOp g = isa<BlockArgument>(src) ? loopReadingWhole(x, in) : nullptr) {
    // An argument the kernel passes on reshaped and reads whole (a bias
    // gradient's sum over rows): rounded in the loop that reads it.
    return readIn(g, x);
  } else if (linalg::GenericOp g = isa<BlockArgument>(src) ? loopReadingWhole(src, in) : nullptr) {
    r = readIn(g, src);
  } else {
    r = roundTensor(b, loc, src);
  }
  for (auto it = reshapes.rbegin(); it != reshapes.rend(); ++it) {
    auto t = cast<RankedTensorType>((*it)->getResult(0).getType());
    auto bt = RankedTensorType::get(t.getShape(), b.getBF16Type());
    if (auto c = dyn_cast<tensor::CollapseShapeOp>(*it))
      r = b.create<tensor::CollapseShapeOp>(loc, bt, r, c.getReassociationIndices());
    else
      r = b.create<tensor::ExpandShapeOp>(loc, bt, r, cast<tensor::ExpandShapeOp>(*it).getReassociationIndices());
  }
  return r;
}

/// Can kernel `k` round its result j in a loop it runs anyway? Not a result
/// that only reshapes an argument no loop reads whole: rounding it here would
/// be a pass of its own all the same (the first matmul reading it does that).
bool roundsInALoop(func::FuncOp k, size_t j) {
  Value x = k.getBody().front().getTerminator()->getOperand(j), src = reshapeSource(x);
  unsigned in;
  return !isa<BlockArgument>(src) || loopReadingWhole(x, in) || loopReadingWhole(src, in);
}

bool isF32(Value v) { return getElementTypeOrSelf(v.getType()).isF32(); }

}  // namespace

void appendBf16Results(func::FuncOp k, const std::vector<int> &results) {
  Operation *ret = k.getBody().front().getTerminator();
  OpBuilder b(ret);
  // Each copy joins the return at once: a later copy from the same loop
  // replaces that loop, and the return's operands follow the replacement.
  for (int j : results) {
    Value copy = bf16Copy(b, ret->getLoc(), ret->getOperand(j));
    ret->insertOperands(ret->getNumOperands(), copy);
  }
  SmallVector<Type> types;
  for (Value v : ret->getOperands()) types.push_back(v.getType());
  k.setFunctionType(FunctionType::get(k.getContext(), k.getFunctionType().getInputs(), types));
}

bool bf16KernelCopies() {
  const char *e = std::getenv("HEED_BF16_KERNEL_COPIES");
  return !(e && std::string(e) == "0");
}

bool addBf16Copies(KernelModule &km) {
  bool changed = false;
  if (!bf16KernelCopies()) return false;
  std::set<std::string> rounded;  // kernels given their bf16 results
  for (auto &[entry, sched] : km.schedules) {
    llvm::DenseMap<Value, Value> viewOf;  // a reshape alias's result -> the value it views
    llvm::DenseSet<Value> read;           // values bf16 matmuls read
    for (const Step &s : sched.steps) {
      if (s.kind == Step::Kernel) {
        auto a = km.reshapeAliases.find(s.kernel);
        if (a != km.reshapeAliases.end())
          for (size_t j = 0; j < a->second.size() && j < s.outputs.size(); ++j)
            viewOf[s.outputs[j]] = s.inputs.at(a->second[j]);
        continue;
      }
      if (!isa<MatmulOp>(s.op) || precisionOf(s.op) != rt::Precision::BF16) continue;
      for (int k = 0; k < 2; ++k) {
        Value v = s.inputs.at(k);
        for (auto it = viewOf.find(v); it != viewOf.end(); it = viewOf.find(v)) v = it->second;
        read.insert(v);
      }
    }
    for (Step &s : sched.steps) {
      if (s.kind != Step::Kernel || km.reshapeAliases.count(s.kernel)) continue;
      s.bf16Outputs.clear();
      auto k = km.kernels->lookupSymbol<func::FuncOp>(s.kernel);
      for (size_t j = 0; j < s.outputs.size(); ++j) {
        const bool partial = j < s.partialOutputs.size() && s.partialOutputs[j];
        if (read.count(s.outputs[j]) && isF32(s.outputs[j]) && !partial && k && roundsInALoop(k, j))
          s.bf16Outputs.push_back((int)j);
      }
      if (s.bf16Outputs.empty()) continue;
      if (!rounded.insert(s.kernel).second) {  // one step per kernel function
        s.bf16Outputs.clear();
        continue;
      }
      appendBf16Results(k, s.bf16Outputs);
      changed = true;
    }
  }
  return changed;
}

}  // namespace heed
