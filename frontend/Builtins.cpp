//===- Builtins.cpp - the layers and primitives a model file can call -----===//
//
// One table entry per callable name: its arguments (positional order, which are
// required, what kind of value each takes) and a handler that checks dtypes and
// shapes with the shared rules and builds the heed op. Layers also create their
// parameters, named <scope>.<layer>.<param>.
//
//===----------------------------------------------------------------------===//

#include "frontend/Elaborator.h"

#include "runtime/Error.h"
#include "runtime/Npy.h"

#include "llvm/Support/Path.h"

#include <cmath>

using namespace mlir;

namespace heed {

namespace {

using A = ArgKind;

/// Enough digits to round-trip an f32 init bound.
std::string fmtNum(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

/// Requires an f32 (or, with `dt`, another dtype) tensor; numbers are promoted.
bool want(Elaborator &el, BoundArgs &args, const std::string &name, DType dt, Val &out) {
  Val v = args[name];
  if (v.kind == Val::Number) v = el.asTensor(v, dt);
  if (v.kind != Val::Tensor || v.dtype != dt) {
    el.error(args.locOf(name)) << args.builtin->name << ": '" << name << "' must be a "
                               << dtypeName(dt) << " tensor, but " << v.describe();
    return false;
  }
  out = v;
  return true;
}

int64_t intArg(BoundArgs &args, const std::string &name, int64_t dflt) {
  return args.has(name) ? (int64_t)args[name].num : dflt;
}
double numArg(BoundArgs &args, const std::string &name, double dflt) {
  return args.has(name) ? args[name].num : dflt;
}
bool boolArg(BoundArgs &args, const std::string &name, bool dflt) {
  return args.has(name) ? args[name].boolean : dflt;
}

/// A dimension from a number argument, keeping the config name it came from.
Dim dimArg(BoundArgs &args, const std::string &name) {
  Val &v = args[name];
  return {(int64_t)v.num, v.dimName};
}

bool positive(Elaborator &el, BoundArgs &args, const std::string &name) {
  if (args[name].num >= 1 && args[name].num <= (double)kMaxDim) return true;
  if (args[name].num > (double)kMaxDim) {
    el.error(args.locOf(name)) << args.builtin->name << ": '" << name << "' is too large, got "
                               << args[name].describe() << " (a dimension is at most " << kMaxDim << ")";
    return false;
  }
  el.error(args.locOf(name)) << args.builtin->name << ": '" << name
                             << "' must be a positive integer, got " << args[name].describe();
  return false;
}

bool symbolIn(Elaborator &el, BoundArgs &args, const std::string &name,
              const std::vector<std::string> &allowed) {
  const std::string &s = args[name].text;
  for (auto &a : allowed)
    if (a == s) return true;
  std::string list;
  for (size_t i = 0; i < allowed.size(); ++i) list += (i ? ", " : "") + allowed[i];
  el.error(args.locOf(name)) << args.builtin->name << ": '" << name << "' must be one of " << list
                             << ", got '" << s << "'" << Elaborator::didYouMean(s, allowed);
  return false;
}

/// Checks the file of `init: load("file")` for a parameter of `shape` as the
/// runtime will (ParamStore): it exists, holds f32 values and has that shape.
/// Only the header is read.
bool checkLoadFile(Elaborator &el, llvm::SMLoc l, const std::string &file, const NShape &shape) {
  if (!el.checkInitFiles) return true;
  llvm::SmallString<256> path(file);
  if (llvm::sys::path::is_relative(path)) {
    path = el.modelDir();
    llvm::sys::path::append(path, file);
  }
  rt::NpyInfo info;
  try {
    info = rt::readNpyInfo(path.str().str());
  } catch (const rt::Error &e) {
    el.error(l) << "init: " << e.what();
    return false;
  }
  if (info.dtype != rt::DType::F32) {
    el.error(l) << "init: '" << file << "' holds " << rt::dtypeName(info.dtype)
                << " values, but parameters are f32 (save it with numpy as float32)";
    return false;
  }
  if (info.shape != sizes(shape)) {
    el.error(l) << "init: '" << file << "' has shape " << rt::shapeToString(info.shape)
                << ", but the parameter is " << toStringWithSizes(shape);
    return false;
  }
  return true;
}

/// Turns an `init:` argument into the attribute string of heed.param, or "" on error.
/// `shape` is the parameter's (a load() file must match it).
std::string initString(Elaborator &el, BoundArgs &args, const std::string &dflt, const NShape &shape) {
  if (!args.has("init")) return dflt;
  Val &v = args["init"];
  llvm::SMLoc l = args.locOf("init");
  auto num = [&](size_t i) { return v.items[i].num; };
  auto count = [&](size_t n, const char *form) {
    if (v.items.size() != n) {
      el.error(l) << "init: " << v.text << " takes " << form;
      return false;
    }
    for (const Val &x : v.items)
      if (x.kind != Val::Number && !(v.text == "load" && x.kind == Val::String)) {
        el.error(x.loc) << "init: " << v.text << " takes " << form;
        return false;
      }
    return true;
  };
  if (v.kind == Val::Symbol) {
    if (v.text == "zeros" || v.text == "ones") return v.text;
    // A bare `normal` is a known initializer missing its arguments, not a typo.
    if (v.text == "normal" || v.text == "uniform" || v.text == "load") {
      el.error(l) << "init: " << v.text << " takes "
                  << (v.text == "normal"    ? "one number, the standard deviation: normal(0.02)"
                      : v.text == "uniform" ? "two numbers, the bounds: uniform(-0.1, 0.1)"
                                            : "one string, the .npy file: load(\"vectors.npy\")");
      return "";
    }
    el.error(l) << "unknown initializer '" << v.text << "'"
                << Elaborator::didYouMean(v.text, {"zeros", "ones", "normal", "uniform", "load"});
    return "";
  }
  if (v.text == "normal") {
    if (!count(1, "one number, the standard deviation: normal(0.02)")) return "";
    if (num(0) <= 0) {
      el.error(l) << "init: normal needs a positive standard deviation";
      return "";
    }
    return "normal(" + fmtNum(num(0)) + ")";
  }
  if (v.text == "uniform") {
    if (!count(2, "two numbers, the bounds: uniform(-0.1, 0.1)")) return "";
    if (num(0) >= num(1)) {
      el.error(l) << "init: uniform needs a < b";
      return "";
    }
    return "uniform(" + fmtNum(num(0)) + ", " + fmtNum(num(1)) + ")";
  }
  if (v.text == "load") {
    if (v.items.size() != 1 || v.items[0].kind != Val::String) {
      el.error(l) << "init: load takes one string, the .npy file: load(\"vectors.npy\")";
      return "";
    }
    if (!checkLoadFile(el, v.items[0].loc, v.items[0].text, shape)) return "";
    return "load(\"" + v.items[0].text + "\")";
  }
  if (v.text == "zeros" || v.text == "ones") {
    if (!count(0, "no arguments")) return "";
    return v.text;
  }
  el.error(l) << "unknown initializer '" << v.text << "'"
              << Elaborator::didYouMean(v.text, {"zeros", "ones", "normal", "uniform", "load"});
  return "";
}

/// PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
std::string uniformInit(int64_t fanIn) {
  double a = 1.0 / std::sqrt((double)fanIn);
  return "uniform(" + fmtNum(-a) + ", " + fmtNum(a) + ")";
}
/// Glorot/Xavier uniform: U(-sqrt(6/(in+out)), sqrt(6/(in+out))).
std::string xavierInit(int64_t fanIn, int64_t fanOut) {
  double a = std::sqrt(6.0 / (double)(fanIn + fanOut));
  return "uniform(" + fmtNum(-a) + ", " + fmtNum(a) + ")";
}

llvm::SMLoc at(BoundArgs &args) { return args.call->opLoc; }
Location L(Elaborator &el, BoundArgs &args) { return el.loc(at(args)); }

//===----------------------------------------------------------------------===//
// Elementwise and math
//===----------------------------------------------------------------------===//

template <typename OpT>
Val unary(Elaborator &el, BoundArgs &args, double (*fold)(double)) {
  Val &x = args["x"];
  if (x.kind == Val::Number && fold) {
    double r = fold(x.num);
    if (!std::isfinite(r)) {
      el.error(args.locOf("x")) << args.builtin->name << "(" << x.num << ") is not a finite number";
      return Val::poison();
    }
    Val v;
    v.kind = Val::Number;
    v.num = r;
    v.isInt = false;
    return v;
  }
  Val t;
  if (!want(el, args, "x", DType::F32, t)) return Val::poison();
  el.countOp(at(args));
  auto op = el.b().create<OpT>(L(el, args), t.value.getType(), t.value);
  return el.tensor(op, t.shape, DType::F32, at(args));
}

double fsqrt(double x) { return std::sqrt(x); }
double fexp(double x) { return std::exp(x); }
double flog(double x) { return std::log(x); }
double frsqrt(double x) { return 1.0 / std::sqrt(x); }
double ftanh(double x) { return std::tanh(x); }

Val whereFn(Elaborator &el, BoundArgs &args) {
  Val c, a, b;
  if (!want(el, args, "cond", DType::Bool, c) || !want(el, args, "a", DType::F32, a) ||
      !want(el, args, "b", DType::F32, b))
    return Val::poison();
  ShapeResult r1 = broadcastShapes("where", c.shape, c.varName, a.shape, a.varName);
  if (!r1) return el.shapeError(at(args), r1);
  ShapeResult r = broadcastShapes("where", *r1.shape, "", b.shape, b.varName);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<WhereOp>(L(el, args), el.tensorType(*r.shape, DType::F32), c.value,
                                   a.value, b.value);
  return el.tensor(op, *r.shape, DType::F32, at(args));
}

//===----------------------------------------------------------------------===//
// Layout, matmul, reductions
//===----------------------------------------------------------------------===//

Val matmulFn(Elaborator &el, BoundArgs &args) {
  Val a, b;
  if (!want(el, args, "a", DType::F32, a) || !want(el, args, "b", DType::F32, b))
    return Val::poison();
  ShapeResult r = matmulShape(a.shape, a.varName, b.shape, b.varName);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<MatmulOp>(L(el, args), el.tensorType(*r.shape, DType::F32), a.value,
                                    b.value);
  return el.tensor(op, *r.shape, DType::F32, at(args));
}

Val transposeFn(Elaborator &el, BoundArgs &args) {
  Val &x = args["x"];
  if (x.kind != Val::Tensor) {
    el.error(args.locOf("x")) << "transpose: 'x' must be a tensor, got " << x.describe();
    return Val::poison();
  }
  int64_t rank = (int64_t)x.shape.size();
  int64_t a = intArg(args, "a", -2), b = intArg(args, "b", -1);
  auto na = normalizeAxis(a, rank), nb = normalizeAxis(b, rank);
  if (!na || !nb) {
    el.error(args.locOf(!na ? "a" : "b"))
        << "transpose: axis " << (!na ? a : b) << " is out of range for " << x.describe()
        << " (rank " << rank << ")";
    return Val::poison();
  }
  std::vector<int64_t> perm(rank);
  for (int64_t i = 0; i < rank; ++i) perm[i] = i;
  std::swap(perm[*na], perm[*nb]);
  ShapeResult r = transposeShape(x.shape, perm);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<TransposeOp>(L(el, args), el.tensorType(*r.shape, x.dtype), x.value,
                                       el.b().getDenseI64ArrayAttr(perm));
  return el.tensor(op, *r.shape, x.dtype, at(args));
}

/// [batch, seq, 4, -1] -> a shape; at most one -1, inferred from the element count.
bool listShape(Elaborator &el, BoundArgs &args, const std::string &name, const NShape &from,
               NShape &out) {
  Val &l = args[name];
  int inferred = -1;
  int64_t known = 1;
  for (size_t i = 0; i < l.items.size(); ++i) {
    const Val &d = l.items[i];
    if (d.kind != Val::Number || std::floor(d.num) != d.num) {
      el.error(d.loc) << args.builtin->name << ": shape entries must be integers, got "
                      << d.describe();
      return false;
    }
    if (d.num == -1 && inferred < 0) {
      inferred = (int)i;
      out.push_back({-1, ""});
      continue;
    }
    if (d.num > (double)kMaxDim) {
      el.error(d.loc) << args.builtin->name << ": shape entry " << d.describe()
                      << " is too large (a dimension is at most " << kMaxDim << ")";
      return false;
    }
    if (d.num < 1) {
      el.error(d.loc) << args.builtin->name << ": shape entries must be positive (one may be -1), got "
                      << d.describe();
      return false;
    }
    known *= (int64_t)d.num;
    out.push_back({(int64_t)d.num, d.dimName});
  }
  if (inferred >= 0) {
    int64_t total = numElements(from);
    if (known == 0 || total % known != 0) {
      el.error(l.items[inferred].loc) << args.builtin->name << ": cannot infer -1: "
                                      << toString(from) << " has " << total
                                      << " elements, not a multiple of " << known;
      return false;
    }
    out[inferred].size = total / known;
  }
  return true;
}

Val reshapeFn(Elaborator &el, BoundArgs &args) {
  Val &x = args["x"];
  if (x.kind != Val::Tensor) {
    el.error(args.locOf("x")) << "reshape: 'x' must be a tensor, got " << x.describe();
    return Val::poison();
  }
  NShape target;
  if (!listShape(el, args, "shape", x.shape, target)) return Val::poison();
  ShapeResult r = reshapeShape(x.shape, x.varName, target);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<ReshapeOp>(L(el, args), el.tensorType(*r.shape, x.dtype), x.value);
  return el.tensor(op, *r.shape, x.dtype, at(args));
}

Val broadcastFn(Elaborator &el, BoundArgs &args) {
  Val &x = args["x"];
  if (x.kind != Val::Tensor) {
    el.error(args.locOf("x")) << "broadcast: 'x' must be a tensor, got " << x.describe();
    return Val::poison();
  }
  NShape target;
  if (!listShape(el, args, "shape", x.shape, target)) return Val::poison();
  ShapeResult r = broadcastToShape(x.shape, target);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<BroadcastOp>(L(el, args), el.tensorType(*r.shape, x.dtype), x.value);
  return el.tensor(op, *r.shape, x.dtype, at(args));
}

template <typename OpT>
Val reduceFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  int64_t axis = intArg(args, "axis", -1);
  bool keep = boolArg(args, "keepdim", false);
  ShapeResult r = reduceShape(args.builtin->name, x.shape, axis, keep);
  if (!r) return el.shapeError(args.locOf(args.has("axis") ? "axis" : "x"), r);
  el.countOp(at(args));
  auto op = el.b().create<OpT>(L(el, args), el.tensorType(*r.shape, DType::F32), x.value,
                               el.b().getI64IntegerAttr(axis), el.b().getBoolAttr(keep));
  return el.tensor(op, *r.shape, DType::F32, at(args));
}

template <typename OpT>
Val softmaxFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  int64_t axis = intArg(args, "axis", -1);
  ShapeResult r = axisShape(args.builtin->name, x.shape, axis);
  if (!r) return el.shapeError(args.locOf(args.has("axis") ? "axis" : "x"), r);
  el.countOp(at(args));
  auto op = el.b().create<OpT>(L(el, args), x.value.getType(), x.value,
                               el.b().getI64IntegerAttr(axis));
  return el.tensor(op, x.shape, DType::F32, at(args));
}

Val gatherFn(Elaborator &el, BoundArgs &args) {
  Val table, ids;
  if (!want(el, args, "table", DType::F32, table) || !want(el, args, "ids", DType::I32, ids))
    return Val::poison();
  ShapeResult r = gatherShape(table.shape, ids.shape);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<GatherOp>(L(el, args), el.tensorType(*r.shape, DType::F32), table.value,
                                    ids.value);
  return el.tensor(op, *r.shape, DType::F32, at(args));
}

//===----------------------------------------------------------------------===//
// Layers
//===----------------------------------------------------------------------===//

Val embeddingFn(Elaborator &el, BoundArgs &args) {
  Val &ids = args["ids"];
  if (ids.kind != Val::Tensor || ids.dtype != DType::I32) {
    el.error(args.locOf("ids")) << "embedding: ids must be an i32 tensor of token ids, but "
                                << ids.describe();
    return Val::poison();
  }
  if (!positive(el, args, "vocab") || !positive(el, args, "dim")) return Val::poison();
  Dim vocab = dimArg(args, "vocab"), dim = dimArg(args, "dim");
  std::string init =
      initString(el, args, "normal(" + fmtNum(1.0 / std::sqrt((double)dim.size)) + ")", {vocab, dim});
  if (init.empty()) return Val::poison();
  std::string path = el.layerPath(*el.currentScope, "embedding");
  Value table = el.param(*el.currentScope, path, "weight", {vocab, dim}, init,
                         boolArg(args, "frozen", false), at(args));
  NShape out = ids.shape;
  out.push_back(dim);
  el.countOp(at(args));
  auto op = el.b().create<EmbeddingOp>(L(el, args), el.tensorType(out, DType::F32), ids.value, table);
  return el.tensor(op, out, DType::F32, at(args));
}

Val positionalFn(Elaborator &el, BoundArgs &args) {
  if (!positive(el, args, "len") || !positive(el, args, "dim")) return Val::poison();
  std::string kind = args.has("kind") ? args["kind"].text : "sinusoidal";
  if (args.has("kind") && !symbolIn(el, args, "kind", {"sinusoidal", "learned"})) return Val::poison();
  NShape shape = {dimArg(args, "len"), dimArg(args, "dim")};
  if (kind == "sinusoidal" && shape[1].size % 2 != 0) {
    el.error(args.locOf("dim")) << "positional_encoding: a sinusoidal table needs an even dim, got "
                                << args["dim"].describe();
    return Val::poison();
  }
  Value table;
  if (kind == "learned") {
    std::string init = initString(el, args, "normal(0.02)", shape);
    if (init.empty()) return Val::poison();
    std::string path = el.layerPath(*el.currentScope, "positional_encoding");
    table = el.param(*el.currentScope, path, "weight", shape, init, boolArg(args, "frozen", false),
                     at(args));
  } else if (args.has("init")) {
    el.error(args.locOf("init")) << "positional_encoding: a sinusoidal table takes no init";
    return Val::poison();
  }
  el.countOp(at(args));
  auto op = el.b().create<PositionalEncodingOp>(L(el, args), el.tensorType(shape, DType::F32), table,
                                                el.b().getStringAttr(kind));
  return el.tensor(op, shape, DType::F32, at(args));
}

Val linearFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  if (!positive(el, args, "out")) return Val::poison();
  if (x.shape.empty()) {
    el.error(args.locOf("x")) << "linear: the input must have rank 1 or more, but " << x.describe();
    return Val::poison();
  }
  Dim in = x.shape.back(), out = dimArg(args, "out");
  std::string init = initString(el, args, uniformInit(in.size), {in, out});
  if (init.empty()) return Val::poison();
  bool bias = boolArg(args, "bias", true), frozen = boolArg(args, "frozen", false);
  std::string path = el.layerPath(*el.currentScope, "linear");
  Value w = el.param(*el.currentScope, path, "w", {in, out}, init, frozen, at(args));
  Value b;
  NShape bShape = {out};
  if (bias) b = el.param(*el.currentScope, path, "b", bShape, "zeros", frozen, at(args));
  ShapeResult r = linearShape(x.shape, x.varName, {in, out}, bias ? &bShape : nullptr);
  if (!r) return el.shapeError(at(args), r);
  el.countOp(at(args));
  auto op = el.b().create<LinearOp>(L(el, args), el.tensorType(*r.shape, DType::F32), x.value, w, b);
  return el.tensor(op, *r.shape, DType::F32, at(args));
}

Val feedForwardFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  if (!positive(el, args, "hidden")) return Val::poison();
  if (args.has("out") && !positive(el, args, "out")) return Val::poison();
  std::string act = args.has("act") ? args["act"].text : "relu";
  if (args.has("act") && !symbolIn(el, args, "act", {"relu", "gelu"})) return Val::poison();
  if (x.shape.empty()) {
    el.error(args.locOf("x")) << "feed_forward: the input must have rank 1 or more";
    return Val::poison();
  }
  Dim in = x.shape.back(), hidden = dimArg(args, "hidden");
  Dim out = args.has("out") ? dimArg(args, "out") : in;
  std::string path = el.layerPath(*el.currentScope, "feed_forward");
  Scope &s = *el.currentScope;
  Value w1 = el.param(s, path, "w1", {in, hidden}, xavierInit(in.size, hidden.size), false, at(args));
  Value b1 = el.param(s, path, "b1", {hidden}, "zeros", false, at(args));
  Value w2 = el.param(s, path, "w2", {hidden, out}, xavierInit(hidden.size, out.size), false, at(args));
  Value b2 = el.param(s, path, "b2", {out}, "zeros", false, at(args));
  NShape result = x.shape;
  result.back() = out;
  el.countOp(at(args));
  auto op = el.b().create<FeedForwardOp>(L(el, args), el.tensorType(result, DType::F32), x.value, w1,
                                         b1, w2, b2, el.b().getStringAttr(act));
  return el.tensor(op, result, DType::F32, at(args));
}

Val layerNormFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  if (x.shape.empty()) {
    el.error(args.locOf("x")) << "layer_norm: the input must have rank 1 or more";
    return Val::poison();
  }
  double eps = numArg(args, "eps", 1e-5);
  if (eps <= 0) {
    el.error(args.locOf("eps")) << "layer_norm: eps must be positive";
    return Val::poison();
  }
  Dim d = x.shape.back();
  std::string path = el.layerPath(*el.currentScope, "layer_norm");
  Value g = el.param(*el.currentScope, path, "gamma", {d}, "ones", false, at(args));
  Value b = el.param(*el.currentScope, path, "beta", {d}, "zeros", false, at(args));
  el.countOp(at(args));
  auto op = el.b().create<LayerNormOp>(L(el, args), x.value.getType(), x.value, g, b,
                                       el.b().getF32FloatAttr((float)eps));
  return el.tensor(op, x.shape, DType::F32, at(args));
}

Val attentionFn(Elaborator &el, BoundArgs &args) {
  Val q, kv;
  if (!want(el, args, "q", DType::F32, q)) return Val::poison();
  if (args.has("kv")) {
    if (!want(el, args, "kv", DType::F32, kv)) return Val::poison();
  } else {
    kv = q;
  }
  if (!positive(el, args, "heads")) return Val::poison();
  int64_t heads = intArg(args, "heads", 1);
  Val mask;
  NShape maskShape;
  if (args.has("key_padding")) {
    mask = args["key_padding"];
    if (mask.kind != Val::Tensor || mask.dtype != DType::Bool) {
      el.error(args.locOf("key_padding"))
          << "attention: key_padding must be a bool mask (true = padding, e.g. src == pad), but "
          << mask.describe();
      return Val::poison();
    }
    maskShape = mask.shape;
  }
  ShapeResult r = attentionShape(q.shape, q.varName, kv.shape, kv.varName, heads,
                                 args.has("key_padding") ? &maskShape : nullptr, mask.varName);
  if (!r) return el.shapeError(args.has("key_padding") && r.error.find("key_padding") != std::string::npos
                                   ? args.locOf("key_padding")
                                   : at(args),
                               r);
  Dim d = q.shape.back();
  std::string path = el.layerPath(*el.currentScope, "attention");
  Scope &s = *el.currentScope;
  std::string wi = xavierInit(d.size, d.size);
  SmallVector<Value> w;
  for (const char *n : {"q", "k", "v", "o"}) {
    w.push_back(el.param(s, path, std::string("w_") + n, {d, d}, wi, false, at(args)));
    w.push_back(el.param(s, path, std::string("b_") + n, {d}, "zeros", false, at(args)));
  }
  el.countOp(at(args));
  auto op = el.b().create<AttentionOp>(L(el, args), q.value.getType(), q.value, kv.value, w[0], w[1],
                                       w[2], w[3], w[4], w[5], w[6], w[7],
                                       args.has("key_padding") ? mask.value : Value(),
                                       el.b().getI64IntegerAttr(heads),
                                       el.b().getBoolAttr(boolArg(args, "causal", false)));
  return el.tensor(op, q.shape, DType::F32, at(args));
}

Val dropoutFn(Elaborator &el, BoundArgs &args) {
  Val x;
  if (!want(el, args, "x", DType::F32, x)) return Val::poison();
  double p = numArg(args, "p", 0.1);
  if (p < 0 || p >= 1) {
    el.error(args.locOf("p")) << "dropout: p must be in [0, 1), got " << args["p"].describe();
    return Val::poison();
  }
  el.countOp(at(args));
  auto op = el.b().create<DropoutOp>(L(el, args), x.value.getType(), x.value,
                                     el.b().getF32FloatAttr((float)p),
                                     el.b().getI64IntegerAttr(el.nextDropoutSeed()));
  return el.tensor(op, x.shape, DType::F32, at(args));
}

Val crossEntropyFn(Elaborator &el, BoundArgs &args) {
  Val &logits = args["logits"], &targets = args["targets"];
  if (logits.kind != Val::Tensor || logits.dtype != DType::F32) {
    el.error(args.locOf("logits")) << "cross_entropy: logits must be an f32 tensor, but "
                                   << logits.describe();
    return Val::poison();
  }
  if (targets.kind != Val::Tensor || targets.dtype != DType::I32) {
    el.error(args.locOf("targets")) << "cross_entropy: targets must be an i32 tensor of class ids, but "
                                    << targets.describe();
    return Val::poison();
  }
  double s = numArg(args, "smoothing", 0.0);
  if (s < 0 || s >= 1) {
    el.error(args.locOf("smoothing")) << "cross_entropy: smoothing must be in [0, 1), got "
                                      << args["smoothing"].describe();
    return Val::poison();
  }
  int64_t ignore = intArg(args, "ignore", -1);
  ShapeResult r = crossEntropyShape(logits.shape, logits.varName, targets.shape, targets.varName);
  if (!r) return el.shapeError(at(args), r);
  if (ignore >= logits.shape.back().size) {
    el.error(args.locOf("ignore")) << "cross_entropy: ignore id " << ignore
                                   << " is not a class id (there are " << logits.shape.back().size
                                   << " classes)";
    return Val::poison();
  }
  el.countOp(at(args));
  auto op = el.b().create<CrossEntropyOp>(L(el, args), el.tensorType({}, DType::F32), logits.value,
                                          targets.value, el.b().getF32FloatAttr((float)s),
                                          el.b().getI64IntegerAttr(ignore));
  return el.tensor(op, {}, DType::F32, at(args));
}

/// causal_mask(len): bool [len, len], true above the diagonal (key j after query i),
/// for hand-written attention: where(causal_mask(seq), -1e9, scores).
Val causalMaskFn(Elaborator &el, BoundArgs &args) {
  if (!positive(el, args, "len")) return Val::poison();
  Dim d = dimArg(args, "len");
  if (d.size > 8192) {
    el.error(args.locOf("len")) << "causal_mask: len " << d.size << " is too large (at most 8192)";
    return Val::poison();
  }
  std::vector<bool> mask((size_t)(d.size * d.size));
  for (int64_t i = 0; i < d.size; ++i)
    for (int64_t j = 0; j < d.size; ++j) mask[i * d.size + j] = j > i;
  NShape shape = {d, d};
  auto ty = el.tensorType(shape, DType::Bool);
  SmallVector<bool> bits(mask.begin(), mask.end());
  el.countOp(at(args));
  auto op = el.b().create<ConstantOp>(L(el, args), ty,
                                      DenseElementsAttr::get(ty, llvm::ArrayRef<bool>(bits)));
  return el.tensor(op, shape, DType::Bool, at(args));
}

}  // namespace

const std::vector<Builtin> &builtins() {
  static const std::vector<Builtin> table = {
      // Layers (create parameters).
      {"embedding", {{"ids", A::Any, true}, {"vocab", A::Int, true}, {"dim", A::Int, true},
                     {"init", A::Init, false}, {"frozen", A::Bool, false}}, embeddingFn, true},
      {"positional_encoding", {{"len", A::Int, true}, {"dim", A::Int, true}, {"kind", A::Symbol, false},
                               {"init", A::Init, false}, {"frozen", A::Bool, false}}, positionalFn, true},
      {"linear", {{"x", A::Tensor, true}, {"out", A::Int, true}, {"bias", A::Bool, false},
                  {"init", A::Init, false}, {"frozen", A::Bool, false}}, linearFn, true},
      {"feed_forward", {{"x", A::Tensor, true}, {"hidden", A::Int, true}, {"act", A::Symbol, false},
                        {"out", A::Int, false}}, feedForwardFn, true},
      {"layer_norm", {{"x", A::Tensor, true}, {"eps", A::Float, false}}, layerNormFn, true},
      {"attention", {{"q", A::Tensor, true}, {"kv", A::Tensor, false}, {"heads", A::Int, true},
                     {"causal", A::Bool, false}, {"key_padding", A::Any, false}}, attentionFn, true},
      // Primitives.
      {"dropout", {{"x", A::Tensor, true}, {"p", A::Float, true}}, dropoutFn, false},
      {"cross_entropy", {{"logits", A::Any, true}, {"targets", A::Any, true},
                         {"smoothing", A::Float, false}, {"ignore", A::Int, false}}, crossEntropyFn, false},
      {"softmax", {{"x", A::Tensor, true}, {"axis", A::Int, false}}, softmaxFn<SoftmaxOp>, false},
      {"log_softmax", {{"x", A::Tensor, true}, {"axis", A::Int, false}}, softmaxFn<LogSoftmaxOp>, false},
      {"matmul", {{"a", A::Tensor, true}, {"b", A::Tensor, true}}, matmulFn, false},
      {"transpose", {{"x", A::Any, true}, {"a", A::Int, false}, {"b", A::Int, false}}, transposeFn, false},
      {"reshape", {{"x", A::Any, true}, {"shape", A::List, true}}, reshapeFn, false},
      {"broadcast", {{"x", A::Any, true}, {"shape", A::List, true}}, broadcastFn, false},
      {"sum", {{"x", A::Tensor, true}, {"axis", A::Int, false}, {"keepdim", A::Bool, false}}, reduceFn<SumOp>, false},
      {"mean", {{"x", A::Tensor, true}, {"axis", A::Int, false}, {"keepdim", A::Bool, false}}, reduceFn<MeanOp>, false},
      {"max", {{"x", A::Tensor, true}, {"axis", A::Int, false}, {"keepdim", A::Bool, false}}, reduceFn<MaxOp>, false},
      {"where", {{"cond", A::Tensor, true}, {"a", A::Tensor, true}, {"b", A::Tensor, true}}, whereFn, false},
      {"gather", {{"table", A::Tensor, true}, {"ids", A::Tensor, true}}, gatherFn, false},
      {"causal_mask", {{"len", A::Int, true}}, causalMaskFn, false},
      {"exp", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<ExpOp>(e, a, fexp); }, false},
      {"log", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<LogOp>(e, a, flog); }, false},
      {"sqrt", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<SqrtOp>(e, a, fsqrt); }, false},
      {"rsqrt", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<RsqrtOp>(e, a, frsqrt); }, false},
      {"tanh", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<TanhOp>(e, a, ftanh); }, false},
      {"relu", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<ReluOp>(e, a, nullptr); }, false},
      {"gelu", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<GeluOp>(e, a, nullptr); }, false},
      {"neg", {{"x", A::Tensor, true}}, [](Elaborator &e, BoundArgs &a) { return unary<NegOp>(e, a, [](double x) { return -x; }); }, false},
  };
  return table;
}

const Builtin *findBuiltin(const std::string &name) {
  for (const Builtin &b : builtins())
    if (name == b.name) return &b;
  return nullptr;
}

}  // namespace heed
