//===- Partition.cpp ------------------------------------------------------===//

#include "compiler/lowering/Partition.h"

#include "compiler/lowering/HeedToLinalg.h"
#include "compiler/lowering/RowSplit.h"
#include "ops/HeedDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <cstdlib>

using namespace mlir;

namespace heed {

static double matmulFlops(MatmulOp m) {
  auto r = cast<RankedTensorType>(m.getType()).getShape();
  int64_t k = cast<RankedTensorType>(m.getLhs().getType()).getShape().back();
  double n = 1;
  for (int64_t d : r) n *= (double)d;
  return 2.0 * n * (double)k;
}

/// The dense products fused attention stands for, so the step's GFLOP/s stay
/// comparable with the spelled-out form: q k^T and p v (2 B H Tq Tk dh each)
/// forward, four of them backward. Causal skipping does not lower the count.
static double attentionFlops(Operation *op) {
  auto q = cast<RankedTensorType>(op->getOperand(0).getType()).getShape();
  auto k = cast<RankedTensorType>(op->getOperand(1).getType()).getShape();
  auto fwd = dyn_cast<SdpaOp>(op);
  const bool tokenMajor = fwd ? fwd.getTokenMajor() : cast<SdpaGradOp>(op).getTokenMajor();
  const int64_t tk = k[tokenMajor ? 1 : 2];  // [B, T, H, dh] token-major, else [B, H, T, dh]
  double n = 2.0 * (double)q[0] * q[1] * q[2] * tk * q[3];
  return isa<SdpaGradOp>(op) ? 4 * n : 2 * n;
}

/// Ops that lower both ways go to the library where their record says so.
static bool preferLibrary(Operation *op) {
  auto l = dyn_cast<LibraryCallInterface>(op);
  return l && l.prefersLibrary();
}

/// A transpose that only swaps the last two dims and feeds only matmuls is not
/// materialized: the matmul reads its input with a transposed layout instead.
static bool isAbsorbedTranspose(Operation *op) {
  auto t = dyn_cast<TransposeOp>(op);
  if (!t) return false;
  ArrayRef<int64_t> perm = t.getPerm();
  int64_t r = perm.size();
  if (r < 2 || perm[r - 1] != r - 2 || perm[r - 2] != r - 1) return false;
  for (int64_t i = 0; i + 2 < r; ++i)
    if (perm[i] != i) return false;
  if (t.getResult().use_empty()) return false;
  return llvm::all_of(t->getUsers(), [](Operation *u) { return isa<MatmulOp>(u); });
}

bool matmulEpilogues() {
  const char *e = std::getenv("HEED_MATMUL_EPILOGUES");
  return !(e && std::string(e) == "0");
}

bool matmulResidualEpilogues() {
  const char *e = std::getenv("HEED_MATMUL_RESIDUAL");
  return !(e && std::string(e) == "0");
}

/// The ops a matmul's epilogue absorbs: `add(matmul, bias[N])` when the add is
/// the matmul's only use and the bias is available when the matmul runs, then
/// a relu or gelu when it is the add's only use (in training the gelu's
/// backward reads the add, so only relu fuses there; relu's backward reads
/// relu's result); then (with `residual`) an `add(last, r)` with r of the same
/// shape when it is the last op's only use: a residual connection `x + f(x)`
/// (the sum post-op, C = C + act(AB + bias), with C first holding r), or in the
/// backward a gradient summed over several uses of a value.
struct Epilogue {
  Operation *add = nullptr, *act = nullptr, *residualAdd = nullptr;
  Value bias, residual;
  Operation *last() const { return residualAdd ? residualAdd : act ? act : add; }
};
static Operation *soleUser(Value v) { return v.hasOneUse() ? *v.getUsers().begin() : nullptr; }

/// `add(last, r)` with r of last's type, when the add is last's only use and r
/// is available when last's library call runs: the add the call can do itself,
/// reading r as it writes its result.
static std::pair<Operation *, Value> residualAdd(Value last, llvm::function_ref<bool(Value)> available) {
  auto radd = dyn_cast_or_null<AddOp>(soleUser(last));
  if (!radd || radd.getType() != last.getType()) return {};
  Value r = radd.getLhs() == last ? radd.getRhs() : radd.getLhs();
  if (r == last || r.getType() != last.getType() || !available(r)) return {};
  return {radd, r};
}
static Epilogue matmulEpilogue(MatmulOp m, bool residual, llvm::function_ref<bool(Value)> available) {
  Epilogue e;
  Value last = m.getResult();
  auto add = dyn_cast_or_null<AddOp>(soleUser(last));
  if (add && add.getType() == m.getType()) {
    Value bias = add.getLhs() == last ? add.getRhs() : add.getLhs();
    auto bt = cast<RankedTensorType>(bias.getType());
    if (bias != last && bt.getRank() == 1 && bt.getShape()[0] == m.getType().getShape().back() &&
        available(bias)) {
      e.add = add;
      e.bias = bias;
      last = add.getResult();
      Operation *u = soleUser(last);
      if (u && isa<ReluOp, GeluOp>(u)) {
        e.act = u;
        last = u->getResult(0);
      }
    }
  }
  if (residual) std::tie(e.residualAdd, e.residual) = residualAdd(last, available);
  return e;
}

/// A positive integer environment setting, or `fallback`.
static int64_t envInt(const char *name, int64_t fallback, int64_t most) {
  const char *e = std::getenv(name);
  int64_t v = e ? std::atoll(e) : fallback;
  return v >= 1 && v <= most ? v : fallback;
}

int64_t rowChunks() { return envInt("HEED_ROW_CHUNKS", 2, 64); }
int64_t rowSplitMinElements() { return envInt("HEED_ROW_SPLIT_MIN_ELEMENTS", 1 << 15, INT64_MAX); }

Schedule partition(func::FuncOp fn, ModuleOp kernelModule, const std::string &prefix,
                   const PartitionOptions &options) {
  Schedule sched;
  Block &body = fn.getBody().front();
  SmallVector<Operation *> group;

  auto flush = [&]() {
    if (group.empty()) return;
    llvm::SmallPtrSet<Operation *, 16> inGroup(group.begin(), group.end());
    llvm::SetVector<Value> inputs, outputs;
    for (Operation *op : group) {
      for (Value v : op->getOperands())
        if (!v.getDefiningOp() || !inGroup.count(v.getDefiningOp())) inputs.insert(v);
      for (Value r : op->getResults())
        for (Operation *user : r.getUsers())
          if (!inGroup.count(user)) outputs.insert(r);
    }
    Step s;
    s.kind = Step::Kernel;
    s.kernel = prefix + std::to_string(sched.kernels++);
    s.inputs.assign(inputs.begin(), inputs.end());
    s.outputs.assign(outputs.begin(), outputs.end());
    s.ops.assign(group.begin(), group.end());

    // The work of a kernel is the larger of what it writes and its largest
    // input: a reduction over the rows (a bias gradient's sum_to of [B, T, D]
    // into [D]) writes little but reads a whole activation.
    std::optional<RowSplit> split;
    int64_t outElements = 0, inElements = 0;
    for (Value v : s.outputs) outElements += cast<RankedTensorType>(v.getType()).getNumElements();
    for (Value v : s.inputs)
      inElements = std::max(inElements, cast<RankedTensorType>(v.getType()).getNumElements());
    const int64_t chunks = options.rowChunks;
    if (chunks > 1 && std::max(outElements, inElements) >= options.rowSplitMinElements)
      split = rowSplitValues(group, s.outputs, chunks);
    auto isSplit = [&](Value v) { return split && split->split.count(v) > 0; };
    auto kernelType = [&](Value v) { return isSplit(v) ? chunkType(v.getType(), chunks) : v.getType(); };
    if (split) {
      s.chunks = chunks;
      for (Value v : s.inputs) s.splitArgs.push_back(isSplit(v));
      for (Value v : s.outputs) {
        s.splitArgs.push_back(isSplit(v));
        s.partialOutputs.push_back(split->partial.count(v) > 0);
      }
    }

    OpBuilder b(kernelModule.getBodyRegion());
    b.setInsertionPointToEnd(kernelModule.getBody());
    SmallVector<Type> inTypes, outTypes;
    for (Value v : s.inputs) inTypes.push_back(kernelType(v));
    for (Value v : s.outputs) outTypes.push_back(kernelType(v));
    auto kfn = b.create<func::FuncOp>(group.front()->getLoc(), s.kernel,
                                      b.getFunctionType(inTypes, outTypes));
    Block *entry = kfn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    for (auto [i, v] : llvm::enumerate(s.inputs)) map.map(v, entry->getArgument(i));
    for (Operation *op : group) {
      Operation *clone = b.clone(*op, map);
      if (!isSplit(op->getResult(0))) continue;
      // The chunk's types; splat constants are re-made at the chunk's shape.
      Type t = chunkType(op->getResult(0).getType(), chunks);
      clone->getResult(0).setType(t);
      if (auto k = dyn_cast<ConstantOp>(clone))
        k.setValueAttr(cast<DenseElementsAttr>(k.getValue()).resizeSplat(cast<ShapedType>(t)));
    }
    SmallVector<Value> rets;
    for (Value v : s.outputs) rets.push_back(map.lookup(v));
    b.create<func::ReturnOp>(group.front()->getLoc(), rets);
    sched.steps.push_back(std::move(s));
    group.clear();
  };

  llvm::SmallPtrSet<Operation *, 32> absorbed;  // epilogue ops, run by their matmul
  llvm::DenseSet<Value> produced;                // results of earlier library steps
  for (Operation &op : body) {
    if (isa<func::ReturnOp>(op)) break;
    if ((options.fuse && isAbsorbedTranspose(&op)) || absorbed.count(&op)) continue;
    if (hasLinalgLowering(&op) && !preferLibrary(&op)) {
      group.push_back(&op);
      if (!options.fuse) flush();
      continue;
    }
    flush();
    Step s;
    s.kind = Step::Library;
    s.op = &op;
    s.ops.push_back(&op);
    s.inputs.assign(op.operand_begin(), op.operand_end());
    if (isa<MatmulOp>(op) && options.fuse)
      for (unsigned i = 0; i < 2; ++i)
        if (Operation *def = op.getOperand(i).getDefiningOp(); def && isAbsorbedTranspose(def)) {
          s.inputs[i] = def->getOperand(0);
          (i == 0 ? s.transposeLhs : s.transposeRhs) = true;
          s.ops.push_back(def);
        }
    s.outputs.assign(op.result_begin(), op.result_end());
    // Everything before the call has run when it does (its kernels are
    // flushed), and so have the earlier library steps' absorbed results.
    auto available = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || (def->getBlock() == op.getBlock() && def->isBeforeInBlock(&op)) ||
             produced.count(v) > 0;
    };
    // `r + dropout(x)`, the residual connection after a sublayer, and `dx + r`,
    // layer norm's input gradient summed with the residual path's: the native
    // kernel adds r as it writes its result (one pass instead of two).
    if (isa<DropoutOp, LayerNormGradOp>(op) && options.fuse && options.epilogues &&
        options.residualEpilogues) {
      if (auto [radd, r] = residualAdd(op.getResult(0), available); radd) {
        s.residual = true;
        s.inputs.push_back(r);
        absorbed.insert(radd);
        s.ops.push_back(radd);
        s.outputs[0] = radd->getResult(0);
      }
    }
    if (auto m = dyn_cast<MatmulOp>(op); m && options.epilogues && options.fuse) {
      Epilogue e = matmulEpilogue(m, options.residualEpilogues, available);
      if (e.add) {
        s.bias = true;
        s.inputs.push_back(e.bias);
      }
      if (e.act) s.act = isa<ReluOp>(e.act) ? "relu" : "gelu";
      if (e.residualAdd) {
        s.residual = true;
        s.inputs.push_back(e.residual);
      }
      for (Operation *a : {e.add, e.act, e.residualAdd})
        if (a) {
          absorbed.insert(a);
          s.ops.push_back(a);
        }
      if (Operation *last = e.last()) s.outputs.assign(last->result_begin(), last->result_end());
    }
    produced.insert(s.outputs.begin(), s.outputs.end());
    if (auto m = dyn_cast<MatmulOp>(op)) sched.flops += matmulFlops(m);
    if (isa<SdpaOp, SdpaGradOp>(op)) sched.flops += attentionFlops(&op);
    ++sched.libraryCalls;
    sched.steps.push_back(std::move(s));
  }
  flush();
  return sched;
}

OwningOpRef<ModuleOp> outlineKernels(ModuleOp trainingModule, std::map<std::string, Schedule> &schedules,
                                     const PartitionOptions &options) {
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(trainingModule.getLoc());
  for (func::FuncOp fn : trainingModule.getOps<func::FuncOp>())
    schedules[fn.getName().str()] = partition(fn, *kernels, fn.getName().str() + "_k", options);
  return kernels;
}

}  // namespace heed
