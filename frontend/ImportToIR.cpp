//===- ImportToIR.cpp - evaluate the model AST into heed IR ---------------===//
//
// Statements, expressions, scopes, config, blocks and repeat. The builtin
// layers and primitives are in Builtins.cpp.
//
//===----------------------------------------------------------------------===//

#include "frontend/ImportToIR.h"
#include "frontend/Elaborator.h"
#include "runtime/train/TrainSettings.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace mlir;

namespace heed {

static bool isIntegral(const Val &v) {
  return v.kind == Val::Number && (v.isInt || (std::floor(v.num) == v.num && std::fabs(v.num) < 1e15));
}

/// A whole number too large to be an integer here (1e30): "too large", not "not an integer".
static bool isHugeWhole(const Val &v) {
  return v.kind == Val::Number && std::floor(v.num) == v.num && !isIntegral(v);
}

/// Is `name` bound in the block scope or config (so it is a value, not a bare symbol)?
static bool currentScopeHasImpl(Scope &scope, const std::string &name) { return scope.vars.count(name) != 0; }

const char *dtypeName(DType t) {
  switch (t) {
  case DType::F32: return "f32";
  case DType::I32: return "i32";
  case DType::Bool: return "bool";
  }
  return "?";
}

std::string Val::kindName() const {
  switch (kind) {
  case Poison: return "an invalid value";
  case Number: return isInt ? "an integer" : "a number";
  case Bool: return "a boolean";
  case String: return "a string";
  case Symbol: return "a name";
  case Tensor: return "a tensor";
  case List: return "a list";
  case Spec: return "an initializer";
  }
  return "?";
}

static std::string formatNumber(double v, bool isInt) {
  if (isInt) return std::to_string((long long)v);
  char buf[32];
  snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Val::describe() const {
  if (kind == Tensor) {
    std::string s = std::string(dtypeName(dtype)) + toString(shape);
    return varName.empty() ? s : "'" + varName + "' is " + s;
  }
  if (kind == Number) return (dimName.empty() ? "" : dimName + " = ") + formatNumber(num, isInt);
  return kindName();
}

llvm::SMLoc BoundArgs::locOf(const std::string &n) const {
  auto it = locs.find(n);
  return it == locs.end() ? call->loc : it->second;
}

Elaborator::Elaborator(const ast::Module &m, llvm::SourceMgr &sm, MLIRContext &ctx)
    : ast(m), sm(sm), ctx(ctx), builder(&ctx) {}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

std::string Elaborator::modelDir() const {
  llvm::StringRef file = sm.getMemoryBuffer(sm.getMainFileID())->getBufferIdentifier();
  llvm::StringRef dir = llvm::sys::path::parent_path(file);
  return dir.empty() ? "." : dir.str();
}

Location Elaborator::loc(llvm::SMLoc l) {
  if (!l.isValid()) l = ast.loc;
  unsigned buf = sm.FindBufferContainingLoc(l);
  if (!buf) return FileLineColLoc::get(&ctx, "<unknown>", 0, 0);
  auto lc = sm.getLineAndColumn(l, buf);
  return FileLineColLoc::get(&ctx, sm.getMemoryBuffer(buf)->getBufferIdentifier(), lc.first,
                             lc.second);
}

InFlightDiagnostic Elaborator::error(llvm::SMLoc l) {
  ++numErrors;
  return emitError(loc(l));
}


std::string Elaborator::didYouMean(const std::string &name,
                                   const std::vector<std::string> &options) {
  std::string best;
  unsigned bestDist = ~0u;
  for (const std::string &o : options) {
    if (o == name) continue;  // never "did you mean" the very name given
    unsigned d = llvm::StringRef(name).edit_distance(o, true, 3);
    if (d < bestDist) {
      bestDist = d;
      best = o;
    }
  }
  unsigned limit = std::max<unsigned>(1, std::min<unsigned>(3, name.size() / 3 + 1));
  if (best.empty() || bestDist > limit) return "";
  return "; did you mean '" + best + "'?";
}

void Elaborator::countOp(llvm::SMLoc l) {
  if (++opCount == kMaxOps && !budgetExceeded) {
    budgetExceeded = true;
    error(l) << "the model expands to more than " << kMaxOps
             << " operations; is a repeat count too large?";
  }
}

Val Elaborator::shapeError(llvm::SMLoc l, const ShapeResult &r) {
  auto diag = error(l);
  diag << r.error;
  if (!r.hint.empty()) diag.attachNote(loc(l)) << r.hint;
  return Val::poison();
}

//===----------------------------------------------------------------------===//
// Config
//===----------------------------------------------------------------------===//

std::vector<std::string> Elaborator::configNames() const {
  std::vector<std::string> out;
  for (auto &kv : configDefs) out.push_back(kv.first);
  return out;
}

const Val *Elaborator::lookupConfig(const std::string &name) {
  auto it = configVals.find(name);
  if (it != configVals.end()) return &it->second;
  if (!configDefs.count(name)) return nullptr;
  return evalConfigEntry(name, configDefs[name]->loc);
}

const Val *Elaborator::evalConfigEntry(const std::string &name, llvm::SMLoc useLoc) {
  auto done = configVals.find(name);
  if (done != configVals.end()) return &done->second;
  for (size_t i = 0; i < configStack.size(); ++i) {
    if (configStack[i] != name) continue;
    std::string cycle;
    for (size_t j = i; j < configStack.size(); ++j) cycle += configStack[j] + " -> ";
    error(configDefs[name]->loc) << "config cycle: " << cycle << name;
    configVals[name] = Val::poison();
    return &configVals[name];
  }
  configStack.push_back(name);
  Scope configScope;  // config sees only config
  Val v = eval(*configDefs[name]->value, configScope);
  configStack.pop_back();
  if (!v.isPoison() && v.kind != Val::Number && v.kind != Val::Bool) {
    error(configDefs[name]->value->loc)
        << "config '" << name << "' must be a number or true/false, got " << v.kindName();
    v = Val::poison();
  }
  if (v.kind == Val::Number) v.dimName = name;
  // A cycle may already have stored a poison for this name.
  auto it = configVals.find(name);
  if (it != configVals.end()) return &it->second;
  return &(configVals[name] = v);
}

/// Parses a --set value: an integer, a decimal, true or false.
static std::optional<Val> parseOverride(const std::string &text) {
  Val v;
  if (text == "true" || text == "false") {
    v.kind = Val::Bool;
    v.boolean = text == "true";
    return v;
  }
  long long i;
  if (!llvm::StringRef(text).getAsInteger(10, i)) {
    v.kind = Val::Number;
    v.num = (double)i;
    v.isInt = true;
    return v;
  }
  double d;
  if (!llvm::StringRef(text).getAsDouble(d) && std::isfinite(d)) {
    v.kind = Val::Number;
    v.num = d;
    v.isInt = false;
    return v;
  }
  return std::nullopt;
}

void Elaborator::evalTrainSettings() {
  Scope scope;
  for (const ast::Assign &a : ast.train) {
    // Only the settings the trainer reads (runtime/train/TrainSettings.h): a typo
    // would otherwise be stored and silently ignored.
    if (!rt::findTrainSetting(a.name)) {
      std::vector<std::string> keys;
      for (const rt::TrainSetting &t : rt::kTrainSettings) keys.push_back(t.key);
      std::string hint = didYouMean(a.name, keys);
      error(a.loc) << "unknown train setting '" << a.name << "'"
                   << (hint.empty() ? std::string(" (heed train --help lists the settings)") : hint);
      continue;
    }
    Attribute attr;
    if (a.value->kind == ast::ExprKind::Ident && !lookupConfig(a.value->text)) {
      attr = builder.getStringAttr(a.value->text);  // optimizer = adam
    } else {
      Val v = eval(*a.value, scope);
      if (v.kind == Val::Number && v.isInt)
        attr = builder.getI64IntegerAttr((int64_t)v.num);
      else if (v.kind == Val::Number)
        attr = builder.getF64FloatAttr(v.num);
      else if (v.kind == Val::Bool)
        attr = builder.getBoolAttr(v.boolean);
      else if (v.kind == Val::String || v.kind == Val::Symbol)
        attr = builder.getStringAttr(v.text);
      else if (!v.isPoison())
        error(a.value->loc) << "train setting '" << a.name
                            << "' must be a number, a name or a string, got " << v.kindName();
    }
    if (attr) trainAttrs.set(a.name, attr);
  }
}

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

Val Elaborator::lookup(const std::string &name, llvm::SMLoc l, Scope &scope, bool allowSymbol) {
  auto it = scope.vars.find(name);
  if (it != scope.vars.end()) {
    Val v = it->second;
    v.loc = l;
    return v;
  }
  if (const Val *c = lookupConfig(name)) {
    Val v = *c;
    v.loc = l;
    return v;
  }
  if (name == "batch" && boundBatch > 0) {  // the bound batch size, usable in shapes
    Val v;
    v.kind = Val::Number;
    v.num = (double)boundBatch;
    v.isInt = true;
    v.dimName = "batch";
    v.loc = l;
    return v;
  }
  if (allowSymbol) {
    Val v;
    v.kind = Val::Symbol;
    v.text = name;
    v.loc = l;
    return v;
  }
  std::vector<std::string> options = configNames();
  for (auto &kv : scope.vars) options.push_back(kv.first);
  auto diag = error(l);
  diag << "unknown name '" << name << "'" << didYouMean(name, options);
  if (blocks.count(name) || findBuiltin(name))
    diag << " ('" << name << "' is " << (blocks.count(name) ? "a block" : "an op")
         << "; call it with arguments)";
  else if (!scope.topLevel && !configStack.size())
    diag.attachNote() << "a block sees only its parameters, its own assignments and config values";
  return Val::poison();
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

RankedTensorType Elaborator::tensorType(const NShape &s, DType t) {
  Type elt = t == DType::F32   ? (Type)builder.getF32Type()
             : t == DType::I32 ? (Type)builder.getI32Type()
                               : (Type)builder.getI1Type();
  return RankedTensorType::get(sizes(s), elt);
}

Val Elaborator::tensor(Value v, NShape s, DType t, llvm::SMLoc l) {
  Val out;
  out.kind = Val::Tensor;
  out.value = v;
  out.shape = std::move(s);
  out.dtype = t;
  out.loc = l;
  return out;
}

Val Elaborator::asTensor(const Val &v, DType t) {
  if (v.kind == Val::Tensor || v.kind != Val::Number) return v;
  RankedTensorType ty = tensorType({}, t);
  Attribute a = t == DType::F32 ? (Attribute)DenseElementsAttr::get(ty, (float)v.num)
                                : (Attribute)DenseElementsAttr::get(ty, (int32_t)v.num);
  countOp(v.loc);
  auto c = builder.create<ConstantOp>(loc(v.loc), ty, cast<TypedAttr>(a));
  return tensor(c, {}, t, v.loc);
}

Val Elaborator::eval(const ast::Expr &e, Scope &scope) {
  switch (e.kind) {
  case ast::ExprKind::Number: {
    Val v;
    v.kind = Val::Number;
    v.num = e.number;
    v.isInt = e.isInteger;
    v.loc = e.loc;
    return v;
  }
  case ast::ExprKind::String: {
    Val v;
    v.kind = Val::String;
    v.text = e.text;
    v.loc = e.loc;
    return v;
  }
  case ast::ExprKind::Bool: {
    Val v;
    v.kind = Val::Bool;
    v.boolean = e.boolean;
    v.loc = e.loc;
    return v;
  }
  case ast::ExprKind::Ident: {
    Val v = lookup(e.text, e.loc, scope, false);
    if (v.kind == Val::Tensor) v.varName = e.text;
    return v;
  }
  case ast::ExprKind::List: {
    Val v;
    v.kind = Val::List;
    v.loc = e.loc;
    for (auto &item : e.operands) {
      Val x = eval(*item, scope);
      if (x.isPoison()) return x;
      v.items.push_back(x);
    }
    return v;
  }
  case ast::ExprKind::Unary: {
    Val x = eval(*e.operands[0], scope);
    if (x.isPoison()) return x;
    if (x.kind == Val::Number) {
      x.num = -x.num;
      x.dimName.clear();
      x.loc = e.loc;
      return x;
    }
    if (x.kind != Val::Tensor || x.dtype != DType::F32) {
      error(e.opLoc) << "neg: expected a number or an f32 tensor, got " << x.describe();
      return Val::poison();
    }
    countOp(e.opLoc);
    auto op = builder.create<NegOp>(loc(e.opLoc), x.value.getType(), x.value);
    return tensor(op, x.shape, x.dtype, e.loc);
  }
  case ast::ExprKind::Binary:
    return evalBinary(e, scope);
  case ast::ExprKind::Call:
    return evalCall(e, scope);
  case ast::ExprKind::Repeat:
    return evalRepeat(e, scope);
  }
  return Val::poison();
}

static bool isComparison(ast::BinOp op) {
  return op == ast::BinOp::Eq || op == ast::BinOp::Ne || op == ast::BinOp::Lt ||
         op == ast::BinOp::Le || op == ast::BinOp::Gt || op == ast::BinOp::Ge;
}

static const char *opName(ast::BinOp op) {
  switch (op) {
  case ast::BinOp::Add: return "add";
  case ast::BinOp::Sub: return "sub";
  case ast::BinOp::Mul: return "mul";
  case ast::BinOp::Div: return "div";
  case ast::BinOp::MatMul: return "matmul";
  case ast::BinOp::Eq: return "eq";
  case ast::BinOp::Ne: return "ne";
  case ast::BinOp::Lt: return "lt";
  case ast::BinOp::Le: return "le";
  case ast::BinOp::Gt: return "gt";
  case ast::BinOp::Ge: return "ge";
  }
  return "?";
}

/// Compile-time arithmetic on config numbers.
static Val foldNumbers(ast::BinOp op, const Val &a, const Val &b, bool &divByZero) {
  Val v;
  v.kind = Val::Number;
  v.loc = a.loc;
  bool ints = a.isInt && b.isInt;
  divByZero = false;
  switch (op) {
  case ast::BinOp::Add: v.num = a.num + b.num; v.isInt = ints; return v;
  case ast::BinOp::Sub: v.num = a.num - b.num; v.isInt = ints; return v;
  case ast::BinOp::Mul: v.num = a.num * b.num; v.isInt = ints; return v;
  case ast::BinOp::Div:
    if (b.num == 0) { divByZero = true; return Val::poison(); }
    v.num = a.num / b.num;
    // d_model / heads stays an integer when it divides exactly.
    v.isInt = ints && std::fmod(a.num, b.num) == 0;
    return v;
  default: break;
  }
  v.kind = Val::Bool;
  switch (op) {
  case ast::BinOp::Eq: v.boolean = a.num == b.num; break;
  case ast::BinOp::Ne: v.boolean = a.num != b.num; break;
  case ast::BinOp::Lt: v.boolean = a.num < b.num; break;
  case ast::BinOp::Le: v.boolean = a.num <= b.num; break;
  case ast::BinOp::Gt: v.boolean = a.num > b.num; break;
  case ast::BinOp::Ge: v.boolean = a.num >= b.num; break;
  default: break;
  }
  return v;
}

Val Elaborator::evalBinary(const ast::Expr &e, Scope &scope) {
  Val a = eval(*e.operands[0], scope);
  Val b = eval(*e.operands[1], scope);
  if (a.isPoison() || b.isPoison()) return Val::poison();
  ast::BinOp op = e.binOp;
  const char *name = opName(op);

  if (a.kind == Val::Number && b.kind == Val::Number && op != ast::BinOp::MatMul) {
    bool divByZero;
    Val v = foldNumbers(op, a, b, divByZero);
    if (divByZero) error(e.opLoc) << "division by zero in a compile-time expression";
    if (!v.isPoison() && v.kind == Val::Number && !std::isfinite(v.num)) {
      error(e.opLoc) << "compile-time arithmetic overflowed";
      return Val::poison();
    }
    v.loc = e.loc;
    return v;
  }
  for (const Val *x : {&a, &b}) {
    if (x->kind != Val::Tensor && x->kind != Val::Number) {
      error(x->loc) << "'" << ast::binOpSpelling(op) << "' needs tensors or numbers, got "
                    << x->kindName();
      return Val::poison();
    }
  }

  if (op == ast::BinOp::MatMul) {
    if (a.kind != Val::Tensor || b.kind != Val::Tensor) {
      error(e.opLoc) << "matmul: both operands must be tensors, got " << a.describe() << " and "
                     << b.describe();
      return Val::poison();
    }
    if (a.dtype != DType::F32 || b.dtype != DType::F32) {
      error(e.opLoc) << "matmul: expected f32 operands, but " << a.describe() << " and "
                     << b.describe();
      return Val::poison();
    }
    ShapeResult r = matmulShape(a.shape, a.varName, b.shape, b.varName);
    if (!r) return shapeError(e.opLoc, r);
    countOp(e.opLoc);
    auto m = builder.create<MatmulOp>(loc(e.opLoc), tensorType(*r.shape, DType::F32), a.value,
                                      b.value);
    return tensor(m, *r.shape, DType::F32, e.loc);
  }

  // Numbers take the other side's dtype.
  DType dt = a.kind == Val::Tensor ? a.dtype : b.dtype;
  if (isComparison(op)) {
    if (dt == DType::Bool) {
      error(e.opLoc) << name << ": cannot compare bool masks";
      return Val::poison();
    }
  } else if (dt != DType::F32) {
    error(e.opLoc) << name << ": arithmetic needs f32 tensors, but "
                   << (a.kind == Val::Tensor && a.dtype != DType::F32 ? a.describe() : b.describe());
    return Val::poison();
  }
  if (a.kind == Val::Tensor && b.kind == Val::Tensor && a.dtype != b.dtype) {
    error(e.opLoc) << name << ": operand element types differ: " << a.describe() << " but "
                   << b.describe();
    return Val::poison();
  }
  std::string aName = a.varName, bName = b.varName;
  Val ta = asTensor(a, dt), tb = asTensor(b, dt);
  ShapeResult r = broadcastShapes(name, ta.shape, aName, tb.shape, bName);
  if (!r) return shapeError(e.opLoc, r);
  DType outT = isComparison(op) ? DType::Bool : DType::F32;
  RankedTensorType ty = tensorType(*r.shape, outT);
  Location l = loc(e.opLoc);
  Value v;
  countOp(e.opLoc);
  switch (op) {
  case ast::BinOp::Add: v = builder.create<AddOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Sub: v = builder.create<SubOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Mul: v = builder.create<MulOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Div: v = builder.create<DivOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Eq: v = builder.create<EqOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Ne: v = builder.create<NeOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Lt: v = builder.create<LtOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Le: v = builder.create<LeOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Gt: v = builder.create<GtOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::Ge: v = builder.create<GeOp>(l, ty, ta.value, tb.value); break;
  case ast::BinOp::MatMul: break;
  }
  return tensor(v, *r.shape, outT, e.loc);
}

//===----------------------------------------------------------------------===//
// Calls, blocks, repeat
//===----------------------------------------------------------------------===//

std::string Elaborator::layerPath(Scope &scope, const std::string &kind) {
  int n = scope.counters[kind]++;
  return scope.prefix + (n == 0 ? kind : kind + "_" + std::to_string(n));
}

Value Elaborator::param(Scope &scope, const std::string &layerPath, const std::string &name,
                        const NShape &shape, const std::string &init, bool frozen, llvm::SMLoc l) {
  std::string full = layerPath + "." + name;
  // Parameters live at the top of the function, in creation order, so every use is
  // dominated and `heed params` lists them as the model file reads.
  OpBuilder::InsertionGuard guard(builder);
  if (lastParam) {
    builder.setInsertionPointAfter(lastParam);
  } else {
    Block *entry = builder.getInsertionBlock();
    builder.setInsertionPointToStart(entry);
  }
  countOp(l);
  auto p = builder.create<ParamOp>(loc(l), tensorType(shape, DType::F32), full, init, frozen);
  lastParam = p;
  params[full] = p;
  paramShapes[full] = shape;
  return p;
}

Val Elaborator::evalCall(const ast::Expr &call, Scope &scope, const Val *threaded) {
  const std::string &callee = call.text;
  if (budgetExceeded) return Val::poison();
  if (auto it = blocks.find(callee); it != blocks.end()) {
    std::string prefix = layerPath(scope, callee) + ".";
    return evalBlockCall(*it->second, call, scope, threaded, prefix);
  }
  const Builtin *bi = findBuiltin(callee);
  if (!bi) {
    std::vector<std::string> options;
    for (const Builtin &b : builtins()) options.push_back(b.name);
    for (auto &kv : blocks) options.push_back(kv.first);
    error(call.opLoc) << "unknown op '" << callee << "'" << didYouMean(callee, options);
    // Evaluate the arguments anyway so errors inside them are reported too.
    for (auto &a : call.operands) eval(*a, scope);
    return Val::poison();
  }
  BoundArgs args;
  if (!bindArgs(*bi, call, scope, threaded, args)) return Val::poison();
  Scope *saved = currentScope;
  currentScope = &scope;
  Val v = bi->fn(*this, args);
  currentScope = saved;
  v.loc = call.loc;
  return v;
}


bool Elaborator::bindArgs(const Builtin &bi, const ast::Expr &call, Scope &scope,
                          const Val *threaded, BoundArgs &out) {
  out.call = &call;
  out.builtin = &bi;
  std::vector<std::pair<const ArgSpec *, const ast::Expr *>> todo;
  std::map<std::string, llvm::SMLoc> given;
  // With a threaded value (repeat), it stands in for the first positional argument.
  size_t positional = call.operands.size();
  if (positional > bi.args.size()) {
    llvm::SMLoc l = call.operands[bi.args.size()]->loc;
    error(l) << bi.name << ": takes at most " << bi.args.size() << " arguments, got " << positional;
    return false;
  }
  size_t slot = 0;
  if (threaded) {
    out.vals[bi.args[0].name] = *threaded;
    out.locs[bi.args[0].name] = call.loc;
    given[bi.args[0].name] = call.loc;
    slot = 1;
  }
  for (size_t i = slot; i < call.operands.size(); ++i, ++slot) {
    const ast::Expr *e = call.operands[i].get();
    todo.push_back({&bi.args[slot], e});
    given[bi.args[slot].name] = e->loc;
  }
  bool ok = true;
  for (const ast::NamedArg &na : call.namedArgs) {
    const ArgSpec *spec = nullptr;
    for (const ArgSpec &s : bi.args)
      if (na.name == s.name) spec = &s;
    if (!spec) {
      std::vector<std::string> names;
      for (const ArgSpec &s : bi.args) names.push_back(s.name);
      error(na.nameLoc) << bi.name << ": unknown argument '" << na.name << "'"
                        << didYouMean(na.name, names);
      ok = false;
      continue;
    }
    if (given.count(na.name)) {
      error(na.nameLoc) << bi.name << ": argument '" << na.name << "' is given twice";
      ok = false;
      continue;
    }
    given[na.name] = na.nameLoc;
    todo.push_back({spec, na.value.get()});
  }
  for (const ArgSpec &s : bi.args) {
    if (s.required && !given.count(s.name)) {
      error(call.opLoc) << bi.name << ": missing required argument '" << s.name << "'";
      ok = false;
    }
  }
  for (auto &[spec, expr] : todo) {
    Val v;
    // Symbol arguments (act: relu, kind: sinusoidal) are names, not variables.
    if ((spec->kind == ArgKind::Symbol || spec->kind == ArgKind::Init) &&
        expr->kind == ast::ExprKind::Ident && !currentScopeHasImpl(scope, expr->text) && !lookupConfig(expr->text)) {
      v.kind = Val::Symbol;
      v.text = expr->text;
      v.loc = expr->loc;
    } else if (spec->kind == ArgKind::Init && expr->kind == ast::ExprKind::Call &&
               !findBuiltin(expr->text) && !blocks.count(expr->text)) {
      v.kind = Val::Spec;
      v.text = expr->text;
      v.loc = expr->loc;
      for (auto &a : expr->operands) {
        Val x = eval(*a, scope);
        if (x.isPoison()) { ok = false; break; }
        v.items.push_back(x);
      }
      if (!expr->namedArgs.empty()) {
        error(expr->namedArgs[0].nameLoc) << "initializers take positional arguments only";
        ok = false;
      }
    } else {
      v = eval(*expr, scope);
    }
    out.locs[spec->name] = expr->loc;
    if (v.isPoison()) { ok = false; continue; }
    auto bad = [&](const char *want) {
      error(expr->loc) << bi.name << ": argument '" << spec->name << "' must be " << want
                       << ", got " << v.describe();
      ok = false;
    };
    switch (spec->kind) {
    case ArgKind::Tensor:
      if (v.kind != Val::Tensor && v.kind != Val::Number) { bad("a tensor"); continue; }
      break;
    case ArgKind::Int:
      if (isHugeWhole(v)) {
        error(expr->loc) << bi.name << ": argument '" << spec->name << "' is too large, got "
                         << v.describe() << " (a dimension is at most " << kMaxDim << ")";
        ok = false;
        continue;
      }
      if (!isIntegral(v)) { bad("an integer"); continue; }
      v.isInt = true;
      break;
    case ArgKind::Float:
      if (v.kind != Val::Number) { bad("a number"); continue; }
      break;
    case ArgKind::Bool:
      if (v.kind != Val::Bool) { bad("true or false"); continue; }
      break;
    case ArgKind::Symbol:
      if (v.kind != Val::Symbol && v.kind != Val::String) { bad("a name"); continue; }
      break;
    case ArgKind::List:
      if (v.kind != Val::List) { bad("a list like [batch, seq]"); continue; }
      break;
    case ArgKind::Init:
      if (v.kind != Val::Spec && v.kind != Val::Symbol) {
        bad("an initializer: normal(std), uniform(a, b), zeros, ones or load(\"file.npy\")");
        continue;
      }
      break;
    case ArgKind::Any:
      break;
    }
    out.vals[spec->name] = v;
  }
  return ok;
}

Val Elaborator::evalBlockCall(const ast::Block &blk, const ast::Expr &call, Scope &scope,
                              const Val *threaded, const std::string &prefix) {
  for (size_t i = 0; i < callStack.size(); ++i) {
    if (callStack[i] != blk.name) continue;
    std::string chain;
    for (size_t j = i; j < callStack.size(); ++j) chain += callStack[j] + " -> ";
    error(call.opLoc) << "block '" << blk.name << "' calls itself recursively (" << chain
                      << blk.name << ")";
    return Val::poison();
  }
  if (!call.namedArgs.empty()) {
    error(call.namedArgs[0].nameLoc) << "block '" << blk.name
                                     << "' takes positional arguments only";
    return Val::poison();
  }
  size_t n = call.operands.size();
  if (n != blk.params.size()) {
    std::string plist;
    for (size_t i = 0; i < blk.params.size(); ++i) plist += (i ? ", " : "") + blk.params[i];
    error(call.opLoc) << "block '" << blk.name << "' takes " << blk.params.size()
                      << " argument" << (blk.params.size() == 1 ? "" : "s") << " (" << plist
                      << "), got " << n;
    return Val::poison();
  }
  Scope inner;
  inner.prefix = prefix;
  size_t slot = 0;
  bool ok = true;
  if (threaded) inner.vars[blk.params[slot++]] = *threaded;
  for (size_t i = slot; i < call.operands.size(); ++i) {
    Val v = eval(*call.operands[i], scope);
    if (v.isPoison()) ok = false;
    if (v.kind == Val::Tensor) v.varName = blk.params[slot];
    inner.vars[blk.params[slot++]] = v;
  }
  if (!ok) return Val::poison();
  callStack.push_back(blk.name);
  unsigned before = numErrors;
  for (const ast::Assign &a : blk.body) {
    if (lookupConfig(a.name)) {
      error(a.loc) << "'" << a.name << "' is a config value and cannot be reassigned";
      continue;
    }
    Val v = eval(*a.value, inner);
    if (v.kind == Val::Tensor) v.varName = a.name;
    inner.vars[a.name] = v;
    if (budgetExceeded) break;
  }
  Val result = budgetExceeded ? Val::poison() : eval(*blk.result, inner);
  callStack.pop_back();
  if (numErrors != before && !callStack.empty()) return Val::poison();
  if (!result.isPoison() && result.kind != Val::Tensor) {
    error(blk.returnLoc) << "block '" << blk.name << "' must return a tensor, got "
                         << result.kindName();
    return Val::poison();
  }
  return result;
}

Val Elaborator::evalRepeat(const ast::Expr &e, Scope &scope) {
  Val count = eval(*e.operands[0], scope);
  if (count.isPoison()) return count;
  if ((!isIntegral(count) && !isHugeWhole(count)) || count.num < 1) {
    error(e.operands[0]->loc) << "repeat count must be a positive integer, got "
                              << count.describe();
    return Val::poison();
  }
  if (count.num > 10000) {
    error(e.operands[0]->loc) << "repeat count " << count.describe() << " is too large (at most 10000)";
    return Val::poison();
  }
  const ast::Expr &call = *e.operands[1];
  if (call.kind != ast::ExprKind::Call) {
    error(call.loc) << "repeat(N) must be followed by a call, like repeat(4) decoder_layer(h)";
    return Val::poison();
  }
  if (call.operands.empty()) {
    error(call.opLoc) << "repeat needs a first argument to thread through the repetitions";
    return Val::poison();
  }
  Val x = eval(*call.operands[0], scope);
  if (x.isPoison()) return x;
  // Each repetition gets its own parameters under <name>.<i>; the threaded value
  // replaces the call's first argument.
  auto block = blocks.find(call.text);
  std::string base = layerPath(scope, call.text);
  for (int64_t i = 0; i < (int64_t)count.num && !x.isPoison(); ++i) {
    std::string prefix = base + "." + std::to_string(i) + ".";
    if (block != blocks.end()) {
      x = evalBlockCall(*block->second, call, scope, &x, prefix);
    } else {
      Scope sub;
      sub.prefix = prefix;
      sub.vars = scope.vars;
      x = evalCall(call, sub, &x);
    }
  }
  return x;
}

//===----------------------------------------------------------------------===//
// The module
//===----------------------------------------------------------------------===//

bool Elaborator::bindInputs(int64_t batch) {
  bool ok = true;
  std::set<std::string> seen;
  for (const ast::Input &in : ast.inputs) {
    if (!seen.insert(in.name).second) {
      error(in.loc) << "input '" << in.name << "' is declared twice";
      ok = false;
      continue;
    }
    DType dt;
    if (in.dtype == "f32") dt = DType::F32;
    else if (in.dtype == "i32") dt = DType::I32;
    else if (in.dtype == "bool") dt = DType::Bool;
    else {
      error(in.dtypeLoc) << "unknown element type '" << in.dtype << "'"
                         << didYouMean(in.dtype, {"f32", "i32", "bool"})
                         << " (inputs are f32, i32 or bool)";
      ok = false;
      continue;
    }
    NShape shape;
    bool dimsOk = true;
    for (const ast::DimExpr &d : in.dims) {
      if (d.name.empty()) {
        if (d.value <= 0 || d.value > kMaxDim) {
          error(d.loc) << "dimension " << d.value << " of input '" << in.name
                       << (d.value <= 0 ? "' must be a positive integer"
                                        : "' is too large (a dimension is at most " + std::to_string(kMaxDim) + ")");
          dimsOk = false;
        }
        shape.push_back({d.value, ""});
        continue;
      }
      if (d.name == "batch" && !configDefs.count("batch")) {
        shape.push_back({batch, "batch"});
        continue;
      }
      const Val *v = lookupConfig(d.name);
      if (!v) {
        std::vector<std::string> options = configNames();
        options.push_back("batch");
        error(d.loc) << "unknown dimension '" << d.name << "' in input '" << in.name << "'"
                     << didYouMean(d.name, options);
        dimsOk = false;
        continue;
      }
      if (v->isPoison()) { dimsOk = false; continue; }
      if ((isIntegral(*v) || isHugeWhole(*v)) && v->num > (double)kMaxDim) {
        error(d.loc) << "dimension '" << d.name << "' of input '" << in.name << "' is too large, "
                     << v->describe() << " (a dimension is at most " << kMaxDim << ")";
        dimsOk = false;
        continue;
      }
      if (!isIntegral(*v) || v->num < 1) {
        error(d.loc) << "dimension '" << d.name << "' of input '" << in.name
                     << "' must be a positive integer, but " << v->describe();
        dimsOk = false;
        continue;
      }
      shape.push_back({(int64_t)v->num, d.name});
    }
    if (!dimsOk) {
      ok = false;
      continue;
    }
    Val v;
    v.kind = Val::Tensor;
    v.shape = shape;
    v.dtype = dt;
    v.varName = in.name;
    v.loc = in.loc;
    inputs.push_back({in.name, v});
  }
  return ok;
}

OwningOpRef<ModuleOp> Elaborator::run(const std::map<std::string, std::string> &overrides,
                                      std::optional<int64_t> batchOverride) {
  ctx.loadDialect<HeedDialect, func::FuncDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(ast.loc));

  // Config definitions, then --set overrides.
  for (const ast::Assign &a : ast.config) {
    if (configDefs.count(a.name)) {
      error(a.loc) << "config '" << a.name << "' is defined twice";
      continue;
    }
    if (findBuiltin(a.name)) {
      error(a.loc) << "config '" << a.name << "' has the name of an op";
      continue;
    }
    configDefs[a.name] = &a;
  }
  for (auto &[key, text] : overrides) {
    if (!configDefs.count(key) && key != "batch") {
      llvm::errs() << "error: --set " << key << ": the model has no config entry '" << key
                   << "'" << didYouMean(key, configNames()) << "\n";
      ++numErrors;
      continue;
    }
    std::optional<Val> v = parseOverride(text);
    if (!v) {
      llvm::errs() << "error: --set " << key << "=" << text
                   << ": the value must be a number or true/false\n";
      ++numErrors;
      continue;
    }
    v->dimName = key;
    if (key == "batch" && !configDefs.count("batch")) {
      if (!v->isInt || v->num < 1) {
        llvm::errs() << "error: --set batch=" << text << ": must be a positive integer\n";
        ++numErrors;
      } else {
        batchOverride = (int64_t)v->num;
      }
      continue;
    }
    configVals[key] = *v;
  }
  for (const ast::Assign &a : ast.config) lookupConfig(a.name);
  evalTrainSettings();

  for (const ast::Block &blk : ast.blocks) {
    if (blocks.count(blk.name)) {
      error(blk.loc) << "block '" << blk.name << "' is defined twice";
      continue;
    }
    if (findBuiltin(blk.name)) {
      error(blk.loc) << "block '" << blk.name << "' has the name of a built-in op";
      continue;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < blk.params.size(); ++i)
      if (!seen.insert(blk.params[i]).second)
        error(blk.paramLocs[i]) << "parameter '" << blk.params[i] << "' appears twice";
    blocks[blk.name] = &blk;
  }

  int64_t batch = kDefaultBatch;
  if (configDefs.count("batch")) {
    // A config entry named batch binds the dimension like any other config value.
    const Val *v = lookupConfig("batch");
    if (v && isIntegral(*v) && v->num >= 1) batch = (int64_t)v->num;
  } else if (batchOverride) {
    batch = *batchOverride;
  } else if (Attribute a = trainAttrs.get("batch")) {
    if (auto i = dyn_cast<IntegerAttr>(a); i && i.getInt() > 0) batch = i.getInt();
  }
  boundBatch = batch;
  bindInputs(batch);

  // func.func @forward(inputs...) -> (outputs..., loss?)
  SmallVector<Type> argTypes;
  for (auto &[name, v] : inputs) argTypes.push_back(tensorType(v.shape, v.dtype));
  builder.setInsertionPointToEnd(module->getBody());
  auto fn = builder.create<func::FuncOp>(loc(ast.loc), "forward",
                                         builder.getFunctionType(argTypes, {}));
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);

  Scope top;
  top.topLevel = true;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Val v = inputs[i].second;
    v.value = entry->getArgument(i);
    top.vars[inputs[i].first] = v;
    fn.setArgAttr(i, "heed.name", builder.getStringAttr(inputs[i].first));
    SmallVector<Attribute> dims;
    for (const Dim &d : v.shape) dims.push_back(builder.getStringAttr(d.name));
    fn.setArgAttr(i, "heed.dims", builder.getArrayAttr(dims));
  }
  currentScope = &top;

  std::vector<std::pair<std::string, Val>> results;
  std::optional<std::pair<std::string, Val>> lossResult;
  bool haveLoss = false;
  llvm::SMLoc minimizeLoc;
  for (const ast::TopStmt &s : ast.stmts) {
    if (budgetExceeded) break;
    switch (s.kind) {
    case ast::TopStmt::AssignStmt: {
      const ast::Assign &a = s.assign;
      if (lookupConfig(a.name)) {
        error(a.loc) << "'" << a.name << "' is a config value and cannot be reassigned";
        continue;
      }
      Val v = eval(*a.value, top);
      if (v.kind == Val::Tensor) v.varName = a.name;
      top.vars[a.name] = v;
      break;
    }
    case ast::TopStmt::OutputStmt:
      for (size_t i = 0; i < s.names.size(); ++i) {
        Val v = lookup(s.names[i], s.nameLocs[i], top, false);
        if (v.isPoison()) continue;
        if (v.kind != Val::Tensor) {
          error(s.nameLocs[i]) << "output '" << s.names[i] << "' must be a tensor, got "
                               << v.describe();
          continue;
        }
        v.varName = s.names[i];
        results.push_back({s.names[i], v});
      }
      break;
    case ast::TopStmt::MinimizeStmt: {
      if (haveLoss) {
        error(s.loc) << "only one 'minimize' is allowed";
        continue;
      }
      Val v = eval(*s.target, top);
      if (v.isPoison()) continue;
      std::string name = s.target->kind == ast::ExprKind::Ident ? s.target->text : "loss";
      if (v.kind != Val::Tensor || v.dtype != DType::F32 || !v.shape.empty()) {
        if (v.kind == Val::Tensor && v.varName.empty()) v.varName = name;
        error(s.target->loc) << "minimize: the loss must be an f32 scalar, but " << v.describe();
        continue;
      }
      v.varName = name;
      lossResult = {name, v};  // always the last result, whatever the statement order
      haveLoss = true;
      minimizeLoc = s.loc;
      break;
    }
    }
  }
  if (numErrors) return nullptr;
  if (lossResult && results.empty()) {
    // The forward pass (heed generate, encode, and train's choice of the token input)
    // returns the outputs without the loss: with none there is nothing to run.
    error(minimizeLoc) << "model '" << ast.name
                       << "' minimizes a loss but has no 'output': add 'output NAME' for what the "
                          "forward pass returns (e.g. 'output logits')";
    return nullptr;
  }
  if (lossResult) results.push_back(*lossResult);
  if (results.empty()) {
    error(ast.loc) << "model '" << ast.name
                   << "' has no results: add 'output NAME' or 'minimize NAME'";
    return nullptr;
  }

  SmallVector<Value> vals;
  SmallVector<Type> types;
  for (auto &[name, v] : results) {
    vals.push_back(v.value);
    types.push_back(v.value.getType());
  }
  builder.create<func::ReturnOp>(loc(ast.loc), vals);
  fn.setFunctionType(builder.getFunctionType(argTypes, types));
  for (size_t i = 0; i < results.size(); ++i) {
    fn.setResultAttr(i, "heed.name", builder.getStringAttr(results[i].first));
    SmallVector<Attribute> dims;
    for (const Dim &d : results[i].second.shape) dims.push_back(builder.getStringAttr(d.name));
    fn.setResultAttr(i, "heed.dims", builder.getArrayAttr(dims));
  }
  if (haveLoss) fn.setResultAttr(results.size() - 1, "heed.loss", builder.getUnitAttr());

  // Model-level facts for the tools: name, config, train settings.
  module->getOperation()->setAttr("heed.model", builder.getStringAttr(ast.name));
  NamedAttrList cfg;
  for (const ast::Assign &a : ast.config) {
    const Val *v = lookupConfig(a.name);
    if (!v) continue;
    if (v->kind == Val::Number)
      cfg.set(a.name, v->isInt ? (Attribute)builder.getI64IntegerAttr((int64_t)v->num)
                               : (Attribute)builder.getF64FloatAttr(v->num));
    else if (v->kind == Val::Bool)
      cfg.set(a.name, builder.getBoolAttr(v->boolean));
  }
  cfg.set("batch", builder.getI64IntegerAttr(batch));
  module->getOperation()->setAttr("heed.config", cfg.getDictionary(&ctx));
  module->getOperation()->setAttr("heed.train", trainAttrs.getDictionary(&ctx));

  if (failed(verify(*module))) {
    // The frontend checked every shape already: reaching this is a heed bug.
    emitError(loc(ast.loc)) << "internal error: the generated IR does not verify";
    return nullptr;
  }
  return module;
}

OwningOpRef<ModuleOp> importModel(const ast::Module &module, llvm::SourceMgr &sm,
                                  MLIRContext &ctx, const ImportOptions &options) {
  Elaborator el(module, sm, ctx);
  el.checkInitFiles = options.checkInitFiles;
  return el.run(options.overrides, options.batch);
}

}  // namespace heed
