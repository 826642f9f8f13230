//===- DecodeStep.cpp - incremental decoding entry points (heed-decode-step) -===//
//
// Generating a token with @forward (an LM) or @decode (an encoder-decoder's
// decoder) recomputes every position of the window. This pass derives, from
// that function, one that advances a single position per batch row:
//
//   @decode_step(tokens [B,1], position i32 [B,1], cache.k.N / cache.v.N
//                [B,T,H,dh] per causal self-attention (the sdpa's k and v
//                layout: [B,H,T,dh] unless token_major), init.N ...)
//       -> (the outputs at that position [B,1,...], cache.k.N, cache.v.N)
//   @decode_init(the function's other inputs) -> (init.N ...)
//
// The "stream" is every value computed from the token ids (the i32 argument
// that a gather reads, with its time axis 1 of length T). decode_step is the
// same graph with the stream's time axis shrunk to 1:
//   * position-wise ops (elementwise, matmul over features, layer_norm,
//     reshapes and transposes that keep the time axis) just change type;
//   * a [T, D] operand broadcast along the time axis (positional encodings)
//     becomes a gather of its row `position`;
//   * a causal sdpa whose keys/values come from the stream writes the new
//     key/value row into its cache at `position` (where over a one-hot of the
//     position) and attends to the cache with key_padding = index > position;
//     the updated caches are outputs, fed back by the runtime on the next step.
// Values outside the stream that depend on other inputs (an encoder-decoder's
// cross-attention keys/values from `memory`, the source padding mask) are the
// same at every step: decode_init computes them once per batch and decode_step
// takes them as inputs init.N. Anything else that mixes positions (a softmax
// over time, bidirectional attention over the target, the unfused attention
// spelled out with matmuls) leaves the module without decode_step, and the
// runtime recomputes the window as before.
//
//===----------------------------------------------------------------------===//

#include "compiler/passes/FunctionEdits.h"
#include "compiler/passes/Passes.h"
#include "ops/HeedDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace heed {
namespace {

bool isElementwise(Operation *op) {
  return isa<AddOp, SubOp, MulOp, DivOp, EqOp, NeOp, LtOp, LeOp, GtOp, GeOp, WhereOp, NegOp, ExpOp, LogOp,
             SqrtOp, RsqrtOp, TanhOp, ReluOp, GeluOp, DropoutOp>(op);
}

/// The axis of q, k, v and out that runs over positions.
int64_t lengthAxis(SdpaOp s) { return s.getTokenMajor() ? 1 : 2; }

RankedTensorType withDim(RankedTensorType t, int64_t axis, int64_t size) {
  SmallVector<int64_t> shape(t.getShape());
  shape[axis] = size;
  return RankedTensorType::get(shape, t.getElementType());
}

/// The analysis: which values are in the stream (with their time axis) and how
/// each stream op is to be rewritten. Fails (returns false) on a graph that
/// cannot be decoded one position at a time.
struct StreamAnalysis {
  Value tokens;
  int64_t T = 0;
  llvm::DenseMap<Value, int64_t> axis;  // stream value -> its time axis
  SmallVector<SdpaOp> selfAttention;    // causal, keys/values from the stream
  SmallVector<std::pair<Operation *, unsigned>> positional;  // (op, operand) to gather at position
  llvm::SetVector<Value> invariants;    // outside the stream, from other inputs, used by the stream

  bool inStream(Value v) const { return axis.count(v) != 0; }

  bool dependsOnArgument(Value v) {
    SmallVector<Value> work{v};
    llvm::DenseSet<Value> seen;
    while (!work.empty()) {
      Value x = work.pop_back_val();
      if (!seen.insert(x).second) continue;
      if (isa<BlockArgument>(x)) return true;
      for (Value o : x.getDefiningOp()->getOperands()) work.push_back(o);
    }
    return false;
  }

  bool run(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    for (BlockArgument a : body.getArguments()) {
      auto t = dyn_cast<RankedTensorType>(a.getType());
      if (!t || t.getRank() != 2 || !t.getElementType().isInteger(32)) continue;
      bool gathered = llvm::any_of(a.getUsers(), [&](Operation *u) {
        auto g = dyn_cast<GatherOp>(u);
        return g && g.getIds() == a;
      });
      if (!gathered) continue;
      if (tokens) return false;  // two token streams: not a decoder we know
      tokens = a;
    }
    if (!tokens) return false;
    T = cast<RankedTensorType>(tokens.getType()).getDimSize(1);
    axis[tokens] = 1;

    for (Operation &op : body.without_terminator()) {
      bool any = llvm::any_of(op.getOperands(), [&](Value v) { return inStream(v); });
      if (!any) continue;
      if (!visit(&op)) return false;
      for (Value o : op.getOperands())
        if (!inStream(o) && !o.getDefiningOp<ParamOp>() && dependsOnArgument(o)) invariants.insert(o);
    }
    return true;
  }

  bool visit(Operation *op) {
    auto type = [](Value v) { return cast<RankedTensorType>(v.getType()); };
    if (isElementwise(op)) {
      Value r = op->getResult(0);
      int64_t rank = type(r).getRank(), ta = -1;
      for (Value o : op->getOperands())
        if (inStream(o)) {
          int64_t a = axis[o] + rank - type(o).getRank();
          if (ta >= 0 && ta != a) return false;
          ta = a;
        }
      for (auto [i, o] : llvm::enumerate(op->getOperands())) {
        if (inStream(o)) continue;
        int64_t a = ta - (rank - type(o).getRank());
        if (a < 0 || type(o).getDimSize(a) == 1) continue;  // broadcast along time (T = 1: position 0)
        // A table over positions: [T, D] against [..., T, D].
        if (type(o).getRank() != 2 || a != 0 || type(o).getDimSize(0) != T ||
            !type(o).getElementType().isF32() || ta != rank - 2)
          return false;
        positional.push_back({op, (unsigned)i});
      }
      axis[r] = ta;
      return true;
    }
    if (auto m = dyn_cast<MatmulOp>(op)) {
      if (inStream(m.getRhs()) || !inStream(m.getLhs())) return false;
      int64_t a = axis[m.getLhs()], ra = type(m.getLhs()).getRank();
      if (a == ra - 1) return false;  // the contracted axis
      axis[m.getResult()] = a + type(m.getResult()).getRank() - ra;
      return true;
    }
    if (auto t = dyn_cast<TransposeOp>(op)) {
      ArrayRef<int64_t> perm = t.getPerm();
      for (size_t i = 0; i < perm.size(); ++i)
        if (perm[i] == axis[t.getX()]) axis[t.getResult()] = (int64_t)i;
      return true;
    }
    if (auto r = dyn_cast<ReshapeOp>(op)) {
      // The time axis must survive as a dim of its own with the same elements before it.
      auto in = type(r.getX()).getShape(), out = type(r.getResult()).getShape();
      int64_t a = axis[r.getX()], before = 1, p = 1;
      for (int64_t i = 0; i < a; ++i) before *= in[i];
      for (size_t j = 0; j < out.size(); ++j) {
        if (p == before && out[j] == T) {
          axis[r.getResult()] = (int64_t)j;
          return true;
        }
        p *= out[j];
      }
      return false;
    }
    if (auto ln = dyn_cast<LayerNormOp>(op)) {
      if (!inStream(ln.getX()) || inStream(ln.getGamma()) || inStream(ln.getBeta())) return false;
      if (axis[ln.getX()] == type(ln.getX()).getRank() - 1) return false;
      axis[ln.getResult()] = axis[ln.getX()];
      return true;
    }
    if (auto g = dyn_cast<GatherOp>(op)) {
      if (inStream(g.getTable())) return false;
      axis[g.getResult()] = axis[g.getIds()];
      return true;
    }
    if (auto s = dyn_cast<SdpaOp>(op)) {
      const int64_t ta = lengthAxis(s);
      if (!inStream(s.getQ()) || axis[s.getQ()] != ta) return false;
      if (s.getKeyPadding() && inStream(s.getKeyPadding())) return false;
      bool kIn = inStream(s.getK()), vIn = inStream(s.getV());
      if (kIn != vIn) return false;
      if (kIn) {
        if (!s.getCausal() || s.getKeyPadding() || axis[s.getK()] != ta || axis[s.getV()] != ta) return false;
        selfAttention.push_back(s);
      }
      axis[s.getOut()] = ta;
      axis[s.getLse()] = 2;  // [B, H, Tq] in either layout
      return true;
    }
    return false;
  }
};

struct DecodeStepPass : PassWrapper<DecodeStepPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(DecodeStepPass)
  StringRef getArgument() const final { return "heed-decode-step"; }
  StringRef getDescription() const final {
    return "Add @decode_step (one position per row, with a key/value cache) and @decode_init";
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (module.lookupSymbol("decode_step")) return;
    auto source = module.lookupSymbol<func::FuncOp>("decode");
    if (!source) source = module.lookupSymbol<func::FuncOp>("forward");
    if (!source) return;
    {
      StreamAnalysis probe;
      if (!probe.run(source)) return;
    }
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointAfter(source);
    auto step = cast<func::FuncOp>(b.clone(*source));
    step.setName("decode_step");
    StreamAnalysis s;
    s.run(step);
    MLIRContext *ctx = module.getContext();
    auto named = [&](StringRef name) {
      return DictionaryAttr::get(ctx, {NamedAttribute(StringAttr::get(ctx, "heed.name"), StringAttr::get(ctx, name))});
    };

    // decode_init: the step invariants, computed once.
    if (!s.invariants.empty()) {
      b.setInsertionPointAfter(step);
      auto init = cast<func::FuncOp>(b.clone(*step));
      init.setName("decode_init");
      // The clone maps ops one to one; find the invariants by position.
      llvm::DenseMap<Operation *, Operation *> map;
      for (auto [a, c] : llvm::zip(step.getBody().front(), init.getBody().front())) map[&a] = &c;
      auto ret = cast<func::ReturnOp>(init.getBody().front().getTerminator());
      SmallVector<Value> vals;
      SmallVector<Type> types;
      for (Value v : s.invariants) {
        Value c = map[v.getDefiningOp()]->getResult(cast<OpResult>(v).getResultNumber());
        vals.push_back(c);
        types.push_back(c.getType());
      }
      OpBuilder rb(ret);
      rb.create<func::ReturnOp>(ret.getLoc(), vals);
      ret.erase();
      SmallVector<DictionaryAttr> resAttrs;
      for (size_t i = 0; i < vals.size(); ++i) resAttrs.push_back(named(("init." + std::to_string(i))));
      init.setFunctionType(FunctionType::get(ctx, init.getArgumentTypes(), types));
      init.setAllResultAttrs(resAttrs);
      pruneDeadCode(init);
      // In the step they become inputs.
      for (auto [i, inv] : llvm::enumerate(s.invariants)) {
        Value v = inv;
        unsigned n = step.getNumArguments();
        (void)step.insertArgument(n, v.getType(), named("init." + std::to_string(i)), v.getLoc());
        v.replaceAllUsesWith(step.getArgument(n));
      }
    }

    Block &body = step.getBody().front();
    const int64_t T = s.T;
    Location loc = step.getLoc();
    // position i32 [B,1] and its comparisons against 0..T-1.
    auto tokType = cast<RankedTensorType>(s.tokens.getType());
    int64_t B = tokType.getDimSize(0);
    unsigned posIndex = step.getNumArguments();
    auto posType = RankedTensorType::get({B, 1}, b.getI32Type());
    (void)step.insertArgument(posIndex, posType, named("position"), loc);
    Value pos = step.getArgument(posIndex);
    b.setInsertionPointToStart(&body);
    SmallVector<int32_t> idx(T);
    for (int64_t i = 0; i < T; ++i) idx[i] = (int32_t)i;
    auto iotaType = RankedTensorType::get({1, T}, b.getI32Type());
    Value iota = b.create<ConstantOp>(loc, iotaType, DenseIntElementsAttr::get(iotaType, ArrayRef<int32_t>(idx)));
    auto maskType = RankedTensorType::get({B, T}, b.getI1Type());
    Value isPos = b.create<EqOp>(loc, maskType, iota, pos);
    Value after = b.create<GtOp>(loc, maskType, iota, pos);
    // isPos over a cache's length axis: [B, 1, T, 1], or [B, T, 1, 1] token-major.
    Value isPos4[2];
    for (int tokenMajor = 0; tokenMajor < 2; ++tokenMajor) {
      SmallVector<int64_t> shape{B, 1, 1, 1};
      shape[tokenMajor ? 1 : 2] = T;
      isPos4[tokenMajor] = b.create<ReshapeOp>(loc, RankedTensorType::get(shape, b.getI1Type()), isPos);
    }

    // Shrink the stream's time axis to 1, op by op (types only; ops keep their meaning).
    s.tokens.setType(withDim(tokType, 1, 1));
    for (Operation &op : body.without_terminator())
      for (Value r : op.getResults())
        if (s.inStream(r)) r.setType(withDim(cast<RankedTensorType>(r.getType()), s.axis[r], 1));
    for (auto [op, i] : s.positional) {
      OpBuilder ob(op);
      Value table = op->getOperand(i);
      auto tt = cast<RankedTensorType>(table.getType());
      Value row = ob.create<GatherOp>(op->getLoc(), RankedTensorType::get({B, 1, tt.getDimSize(1)}, tt.getElementType()),
                                      table, pos);
      op->setOperand(i, row);
    }
    SmallVector<Value> cacheOut;
    SmallVector<DictionaryAttr> cacheNames;
    for (auto [n, sdpa] : llvm::enumerate(s.selfAttention)) {
      OpBuilder ob(sdpa);
      auto full = withDim(cast<RankedTensorType>(sdpa.getK().getType()), lengthAxis(sdpa), T);
      Value kv[2];
      for (int j = 0; j < 2; ++j) {
        std::string name = std::string(j ? "cache.v." : "cache.k.") + std::to_string(n);
        unsigned a = step.getNumArguments();
        (void)step.insertArgument(a, full, named(name), sdpa.getLoc());
        Value fresh = j ? sdpa.getV() : sdpa.getK();
        kv[j] = ob.create<WhereOp>(sdpa.getLoc(), full, isPos4[sdpa.getTokenMajor()], fresh,
                                   step.getArgument(a));
        cacheOut.push_back(kv[j]);
        cacheNames.push_back(named(name));
      }
      // Non-causal over the cache, the positions after `position` masked.
      OperationState st(sdpa.getLoc(), SdpaOp::getOperationName());
      st.addOperands({sdpa.getQ(), kv[0], kv[1], after});
      st.addTypes(sdpa->getResultTypes());
      st.addAttributes(sdpa->getAttrs());
      Operation *fresh = ob.create(st);
      fresh->setAttr("causal", ob.getBoolAttr(false));
      sdpa->replaceAllUsesWith(fresh->getResults());
      sdpa->erase();
    }
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<Value> results(ret.getOperands());
    SmallVector<DictionaryAttr> resAttrs;
    for (unsigned i = 0; i < ret.getNumOperands(); ++i) resAttrs.push_back(step.getResultAttrDict(i));
    results.append(cacheOut.begin(), cacheOut.end());
    resAttrs.append(cacheNames.begin(), cacheNames.end());
    OpBuilder rb(ret);
    rb.create<func::ReturnOp>(ret.getLoc(), results);
    ret.erase();
    SmallVector<Type> resTypes;
    for (Value v : results) resTypes.push_back(v.getType());
    SmallVector<Type> argTypes(body.getArgumentTypes());
    step.setFunctionType(FunctionType::get(ctx, argTypes, resTypes));
    step.setAllResultAttrs(resAttrs);
    pruneDeadCode(step);
  }
};

}  // namespace

std::unique_ptr<Pass> createDecodeStepPass() { return std::make_unique<DecodeStepPass>(); }

}  // namespace heed
