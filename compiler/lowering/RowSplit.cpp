//===- RowSplit.cpp -------------------------------------------------------===//

#include "compiler/lowering/RowSplit.h"

#include "ops/HeedDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/SmallVector.h"

using namespace mlir;

namespace heed {
namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// Union-find over the group's values, with a "must split" and a "must stay
/// whole" mark per class.
class Classes {
public:
  int id(Value v) {
    auto [it, fresh] = ids.try_emplace(v, (int)parent.size());
    if (fresh) {
      parent.push_back(it->second);
      values.push_back(v);
      split.push_back(false);
      whole.push_back(false);
    }
    return it->second;
  }
  int find(int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void unite(Value a, Value b) {
    int x = find(id(a)), y = find(id(b));
    if (x == y) return;
    parent[y] = x;
    split[x] = split[x] || split[y];
    whole[x] = whole[x] || whole[y];
  }
  void mustStayWhole(Value v) { whole[find(id(v))] = true; }
  void mustSplit(Value v) { split[find(id(v))] = true; }

  std::optional<llvm::DenseSet<Value>> solve(int64_t chunks) {
    llvm::DenseSet<Value> result;
    for (size_t i = 0; i < values.size(); ++i) {
      int c = find((int)i);
      if (split[c] && whole[c]) return std::nullopt;
      if (!split[c]) continue;
      ArrayRef<int64_t> s = shapeOf(values[i]);
      if (s.empty() || s[0] % chunks != 0 || s[0] < chunks) return std::nullopt;
      result.insert(values[i]);
    }
    return result;
  }

private:
  llvm::DenseMap<Value, int> ids;
  std::vector<int> parent;
  std::vector<Value> values;
  std::vector<bool> split, whole;
};

bool isElementwise(Operation *op) { return isa<ScalarBodyInterface>(op); }

/// The reduced (or normalized) axis of an axis op, in [0, rank), or -1 if `op`
/// is not one.
int64_t reducedAxis(Operation *op) {
  auto r = dyn_cast<ReductionInterface>(op);
  return r ? r.reducedAxis() : -1;
}

}  // namespace

Type chunkType(Type t, int64_t chunks) {
  auto rt = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(rt.getShape());
  shape[0] /= chunks;
  return RankedTensorType::get(shape, rt.getElementType());
}

std::optional<RowSplit> rowSplitValues(ArrayRef<Operation *> ops, ArrayRef<Value> outputs, int64_t chunks) {
  Classes c;
  llvm::SmallPtrSet<Operation *, 32> inGroup(ops.begin(), ops.end());
  RowSplit result;
  for (Operation *op : ops) {
    if (op->getNumResults() != 1) return std::nullopt;
    Value r = op->getResult(0);
    ArrayRef<int64_t> rs = shapeOf(r);
    if (auto s = dyn_cast<SumToOp>(op)) {
      ArrayRef<int64_t> xs = shapeOf(s.getX());
      bool acrossRows = xs.size() != rs.size() || xs[0] != rs[0];
      bool leavesGroup = llvm::none_of(r.getUsers(), [&](Operation *u) { return inGroup.count(u) > 0; });
      if (acrossRows && leavesGroup) {
        result.partial.insert(r);
        c.mustSplit(s.getX());  // a whole operand would be summed once per chunk
        continue;
      }
    }
    c.id(r);
    if (rs.empty()) {  // a scalar: nothing to split
      c.mustStayWhole(r);
      for (Value o : op->getOperands()) c.mustStayWhole(o);
      continue;
    }
    if (isElementwise(op)) {
      // Operands aligned with the result's leading dim are split with it; the
      // broadcast ones (fewer dims, or a leading 1) are read whole by every chunk.
      for (Value o : op->getOperands()) {
        ArrayRef<int64_t> os = shapeOf(o);
        if (os.size() == rs.size() && os[0] == rs[0] && rs[0] != 1) c.unite(r, o);
        else c.mustStayWhole(o);
      }
    } else if (auto t = dyn_cast<TransposeOp>(op)) {
      if (t.getPerm()[0] == 0) {
        c.unite(r, t.getX());
      } else {
        c.mustStayWhole(r);
        c.mustStayWhole(t.getX());
      }
    } else if (auto re = dyn_cast<ReshapeOp>(op)) {
      c.unite(r, re.getX());  // the same flat chunks when both leading dims divide
    } else if (auto s = dyn_cast<SumToOp>(op)) {
      ArrayRef<int64_t> xs = shapeOf(s.getX());
      if (xs.size() == rs.size() && xs[0] == rs[0]) {
        c.unite(r, s.getX());
      } else {
        c.mustStayWhole(r);
        c.mustStayWhole(s.getX());
      }
    } else if (int64_t axis = reducedAxis(op); axis >= 0) {
      for (Value o : op->getOperands()) {
        if (axis == 0) c.mustStayWhole(o);
        else c.unite(r, o);
      }
      if (axis == 0) c.mustStayWhole(r);
    } else if (auto k = dyn_cast<ConstantOp>(op)) {
      auto dense = dyn_cast<DenseElementsAttr>(k.getValue());
      if (!dense || !dense.isSplat()) c.mustStayWhole(r);  // a splat is re-made at the chunk's shape
    } else if (isa<SinusoidalOp>(op)) {
      c.mustStayWhole(r);
    } else {
      return std::nullopt;  // an op this analysis does not know
    }
  }
  for (Value v : outputs)
    if (!result.partial.count(v)) c.mustSplit(v);
  std::optional<llvm::DenseSet<Value>> split = c.solve(chunks);
  if (!split) return std::nullopt;
  result.split = std::move(*split);
  return result;
}

}  // namespace heed
