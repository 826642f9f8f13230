//===- AST.h - heed model-file syntax tree ---------------------*- C++ -*-===//
//
// The parser's output: a faithful tree of the .heed text, nothing resolved.
// Names, config values, shapes and layers are resolved later by ImportToIR.
// Every node keeps the SMLoc of its first token so that every later error can
// point at the user's text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/Support/SMLoc.h"

#include <memory>
#include <string>
#include <vector>

namespace heed::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// One `name: value` argument of a call.
struct NamedArg {
  std::string name;
  llvm::SMLoc nameLoc;
  ExprPtr value;
};

enum class ExprKind { Number, String, Bool, Ident, Call, Binary, Unary, List, Repeat };

/// Binary operators, lowest precedence first:
///   comparisons (== != < <= > >=)  <  + -  <  * / @  <  unary -
enum class BinOp { Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, MatMul };
enum class UnOp { Neg };

struct Expr {
  ExprKind kind;
  llvm::SMLoc loc;    // first character of the expression
  llvm::SMLoc opLoc;  // Binary/Unary: the operator token; Call: the callee name

  // Number
  double number = 0;
  bool isInteger = false;  // written without '.', 'e' or 'E'
  // String / Ident (identifier name) / Call (callee name)
  std::string text;
  // Bool
  bool boolean = false;
  // Binary / Unary
  BinOp binOp = BinOp::Add;
  UnOp unOp = UnOp::Neg;
  // Binary: operands[0], operands[1]; Unary: operands[0]; List: elements;
  // Call: positional arguments; Repeat: operands[0] = count, operands[1] = the Call
  std::vector<ExprPtr> operands;
  // Call only
  std::vector<NamedArg> namedArgs;

  // Height of this subtree (1 for a leaf). The parser rejects expressions
  // higher than kMaxExprDepth, so recursive walks over an Expr are safe.
  unsigned height = 1;

  explicit Expr(ExprKind k, llvm::SMLoc l) : kind(k), loc(l), opLoc(l) {}
};

/// `name = expr`, in config/train blocks, at top level or inside a block body.
struct Assign {
  std::string name;
  llvm::SMLoc loc;  // the name
  ExprPtr value;
};

/// One dimension of an input type: a name (`batch`, `seq`) or an integer.
struct DimExpr {
  llvm::SMLoc loc;
  std::string name;    // empty if the dimension is a literal integer
  long long value = 0; // the literal, if name is empty
};

/// `input tokens : i32[batch, seq]`
struct Input {
  std::string name;
  llvm::SMLoc loc;
  std::string dtype;  // as written: i32, f32, bool, ...
  llvm::SMLoc dtypeLoc;
  std::vector<DimExpr> dims;
};

/// `block name(p1, p2) { stmts; return expr }`
struct Block {
  std::string name;
  llvm::SMLoc loc;
  std::vector<std::string> params;
  std::vector<llvm::SMLoc> paramLocs;
  std::vector<Assign> body;
  ExprPtr result;  // the `return` expression
  llvm::SMLoc returnLoc;
};

/// A top-level statement, kept in source order (assignments may rebind names).
struct TopStmt {
  enum Kind { AssignStmt, OutputStmt, MinimizeStmt } kind;
  llvm::SMLoc loc;  // the keyword or the assigned name
  Assign assign;                        // AssignStmt
  std::vector<std::string> names;       // OutputStmt: output a, b
  std::vector<llvm::SMLoc> nameLocs;    // OutputStmt / MinimizeStmt
  ExprPtr target;                       // MinimizeStmt: usually an Ident
};

struct Module {
  std::string name;  // `model NAME`
  llvm::SMLoc loc;
  std::vector<Assign> config;  // all `config { }` blocks, in order
  std::vector<Assign> train;   // all `train { }` blocks, in order
  std::vector<Input> inputs;
  std::vector<Block> blocks;
  std::vector<TopStmt> stmts;
};

/// The parser's limit on expression nesting (and on Expr::height).
constexpr unsigned kMaxExprDepth = 200;

/// "==", "+", "@", ...
const char *binOpSpelling(BinOp op);

}  // namespace heed::ast
