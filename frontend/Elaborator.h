//===- Elaborator.h - evaluates a model AST into heed IR --------*- C++ -*-===//
//
// Internal to frontend/ (ImportToIR.cpp and Builtins.cpp). A model file is a
// small program run at compile time: config arithmetic is evaluated, blocks
// are inlined, `repeat` is unrolled, layer calls create parameters. What is
// left are tensor ops, built straight into the heed dialect.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "ops/HeedDialect.h"
#include "ops/ShapeRules.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace heed {

enum class DType { F32, I32, Bool };
const char *dtypeName(DType t);

/// A compile-time value: what an expression evaluates to.
struct Val {
  enum Kind { Poison, Number, Bool, String, Symbol, Tensor, List, Spec } kind = Poison;
  llvm::SMLoc loc;
  // Number
  double num = 0;
  bool isInt = false;
  std::string dimName;  // config entry it came from, if any (names dims)
  // Bool
  bool boolean = false;
  // String / Symbol / Spec (callee)
  std::string text;
  // Tensor
  mlir::Value value;
  NShape shape;
  DType dtype = DType::F32;
  std::string varName;  // the user's variable name, for messages
  // List / Spec arguments
  std::vector<Val> items;

  static Val poison() { return Val(); }
  bool isPoison() const { return kind == Poison; }
  /// "'x' is f32[batch, seq, d_model]" style description.
  std::string describe() const;
  std::string kindName() const;
};

/// A block's local names; lookups fall back to config.
struct Scope {
  std::map<std::string, Val> vars;
  /// Param-path prefix ("decoder_layer.2.") and the per-layer-kind counters in it.
  std::string prefix;
  std::map<std::string, int> counters;
  bool topLevel = false;
};

/// How one builtin argument is read.
enum class ArgKind { Tensor, Int, Float, Bool, Symbol, List, Init, Any };
struct ArgSpec {
  const char *name;
  ArgKind kind;
  bool required;
};

class Elaborator;

/// The largest dimension a model may use (2^31): sizes stay far from int64 overflow
/// when multiplied, and every i32 id of a dimension fits.
constexpr int64_t kMaxDim = 1LL << 31;
struct BoundArgs;
using BuiltinFn = std::function<Val(Elaborator &, BoundArgs &)>;
struct Builtin {
  const char *name;
  std::vector<ArgSpec> args;
  BuiltinFn fn;
  bool isLayer;  // creates parameters
};
const std::vector<Builtin> &builtins();
const Builtin *findBuiltin(const std::string &name);

/// Arguments of one builtin call, matched to its spec and evaluated.
struct BoundArgs {
  const ast::Expr *call = nullptr;
  const Builtin *builtin = nullptr;
  std::map<std::string, Val> vals;
  std::map<std::string, llvm::SMLoc> locs;
  bool has(const std::string &n) const { return vals.count(n) != 0; }
  Val &operator[](const std::string &n) { return vals.at(n); }
  llvm::SMLoc locOf(const std::string &n) const;
};

class Elaborator {
public:
  Elaborator(const ast::Module &m, llvm::SourceMgr &sm, mlir::MLIRContext &ctx);

  // --- diagnostics --------------------------------------------------------
  mlir::Location loc(llvm::SMLoc l);
  mlir::InFlightDiagnostic error(llvm::SMLoc l);
  unsigned errors() const { return numErrors; }
  /// "; did you mean 'x'?" or "".
  static std::string didYouMean(const std::string &name, const std::vector<std::string> &options);

  // --- evaluation ---------------------------------------------------------
  Val eval(const ast::Expr &e, Scope &scope);
  Val evalCall(const ast::Expr &call, Scope &scope, const Val *threaded = nullptr);

  // --- building IR (used by builtins) -------------------------------------
  mlir::OpBuilder &b() { return builder; }
  mlir::RankedTensorType tensorType(const NShape &s, DType t);
  Val tensor(mlir::Value v, NShape s, DType t, llvm::SMLoc l);
  /// Numbers become rank-0 constants of the given dtype.
  Val asTensor(const Val &v, DType t);
  /// Creates (or reuses) the parameter `<scope prefix><layer>.<name>`.
  mlir::Value param(Scope &scope, const std::string &layerPath, const std::string &name,
                    const NShape &shape, const std::string &init, bool frozen, llvm::SMLoc l);
  /// "attention" -> "attention", then "attention_1", ... within the scope.
  std::string layerPath(Scope &scope, const std::string &kind);
  int64_t nextDropoutSeed() { return dropoutSeed++; }
  /// Reports a failed shape rule at `l` and returns poison.
  Val shapeError(llvm::SMLoc l, const ShapeResult &r);
  Scope *currentScope = nullptr;

  // --- config -------------------------------------------------------------
  const Val *lookupConfig(const std::string &name);
  std::vector<std::string> configNames() const;

  mlir::OwningOpRef<mlir::ModuleOp> run(const std::map<std::string, std::string> &overrides,
                                        std::optional<int64_t> batchOverride);

  /// ImportOptions::checkInitFiles.
  bool checkInitFiles = true;
  /// The directory of the model file: `load("x.npy")` paths are relative to it.
  std::string modelDir() const;

  /// Upper bound on ops created, so no model file can make the compiler allocate without bound.
  static constexpr int64_t kMaxOps = 2'000'000;
  bool budgetExceeded = false;
  void countOp(llvm::SMLoc l);

private:
  Val evalBinary(const ast::Expr &e, Scope &scope);
  Val evalBlockCall(const ast::Block &blk, const ast::Expr &call, Scope &scope, const Val *threaded,
                    const std::string &prefix);
  Val evalRepeat(const ast::Expr &e, Scope &scope);
  bool bindArgs(const Builtin &bi, const ast::Expr &call, Scope &scope, const Val *threaded,
                BoundArgs &out);
  Val lookup(const std::string &name, llvm::SMLoc l, Scope &scope, bool allowSymbol);
  const Val *evalConfigEntry(const std::string &name, llvm::SMLoc useLoc);
  void evalTrainSettings();
  bool bindInputs(int64_t batch);

  const ast::Module &ast;
  llvm::SourceMgr &sm;
  mlir::MLIRContext &ctx;
  mlir::OpBuilder builder;
  unsigned numErrors = 0;
  int64_t dropoutSeed = 1;
  int64_t opCount = 0;
  int64_t boundBatch = 0;

  std::map<std::string, const ast::Assign *> configDefs;
  std::map<std::string, Val> configVals;
  std::vector<std::string> configStack;  // for cycle detection
  std::map<std::string, const ast::Block *> blocks;
  std::vector<std::string> callStack;  // block names being expanded
  mlir::Operation *lastParam = nullptr;
  std::map<std::string, mlir::Value> params;
  std::map<std::string, NShape> paramShapes;
  std::vector<std::pair<std::string, Val>> inputs;
  mlir::NamedAttrList trainAttrs;
};

}  // namespace heed
