//===- Parser.cpp - .heed text -> ast::Module -----------------------------===//
//
// Grammar (newlines are not significant; an expression ends where the next
// token cannot continue it):
//
//   module     := 'model' NAME stmt*
//   stmt       := 'config' '{' setting* '}'
//               | 'train' '{' setting* '}'
//               | 'input' NAME ':' DTYPE '[' (dim (',' dim)* ','?)? ']'
//               | 'block' NAME '(' (NAME (',' NAME)*)? ')' '{' setting* 'return' expr '}'
//               | 'output' NAME (',' NAME)*
//               | 'minimize' expr
//               | setting
//   setting    := NAME '=' expr
//   dim        := NAME | INTEGER
//   expr       := additive (('==' | '!=' | '<' | '<=' | '>' | '>=') additive)?
//   additive   := multiplicative (('+' | '-') multiplicative)*
//   multiplicative := unary (('*' | '/' | '@') unary)*
//   unary      := '-' unary | primary
//   primary    := NUMBER | STRING | 'true' | 'false' | NAME | call
//               | '(' expr ')' | '[' (expr (',' expr)* ','?)? ']'
//               | 'repeat' '(' expr ')' call
//   call       := NAME '(' (arg (',' arg)* ','?)? ')'
//   arg        := expr | NAME ':' expr      (positional arguments first)
//
//===----------------------------------------------------------------------===//

#include "frontend/Parser.h"
#include "frontend/Lexer.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/SourceMgr.h"

#include <algorithm>

namespace heed {

namespace {

using ast::Expr;
using ast::ExprKind;
using ast::ExprPtr;

/// Forwards to the user's sink, drops a second error at the same location
/// (the usual shape of a cascade) and everything after kMaxParseErrors.
class LimitedSink : public DiagSink {
public:
  explicit LimitedSink(DiagSink &inner) : inner(inner) {}
  bool stopped() const { return forwarded >= kMaxParseErrors; }

protected:
  void report(llvm::SMLoc loc, const llvm::Twine &msg, bool isError) override {
    if (stopped())
      return;
    if (!isError) {
      inner.note(loc, msg);
      return;
    }
    if (loc.isValid() && loc == lastErrorLoc)
      return;
    lastErrorLoc = loc;
    inner.error(loc, msg);
    if (++forwarded == kMaxParseErrors)
      inner.note(loc, "too many errors, stopping");
  }

private:
  DiagSink &inner;
  unsigned forwarded = 0;
  llvm::SMLoc lastErrorLoc;
};

/// Where error recovery may stop, besides statement keywords.
enum class Ctx {
  Top,     // NAME '=' at bracket depth 0
  Braces,  // ... or the '}' closing a config/train block
  Block,   // ... or 'return' in a block body
};

class Parser {
public:
  Parser(llvm::SourceMgr &sm, unsigned bufferId, LimitedSink &diags)
      : lex(sm, bufferId, diags), diags(diags) {
    tok = lex.next();
  }

  std::unique_ptr<ast::Module> parse();

private:
  // --- tokens -------------------------------------------------------------
  void advance() {
    if (diags.stopped()) {
      stopAtEof();
      return;
    }
    if (havePeek) {
      tok = std::move(peekTok);
      havePeek = false;
    } else {
      tok = lex.next();
    }
    if (diags.stopped())
      stopAtEof();
  }
  const Token &peek() {
    if (!havePeek) {
      if (diags.stopped()) {
        peekTok = Token();
        peekTok.loc = tok.loc;
      } else {
        peekTok = lex.next();
      }
      havePeek = true;
    }
    return peekTok;
  }
  void stopAtEof() {
    tok.kind = Tok::Eof;
    tok.text = llvm::StringRef();
  }
  bool atAssign() { return tok.is(Tok::Ident) && peek().is(Tok::Assign); }

  // --- errors -------------------------------------------------------------
  void error(llvm::SMLoc loc, const llvm::Twine &msg) { diags.error(loc, msg); }
  /// "<what>, found <tok>" at `t`; silent on an Error token (already reported).
  void errorAt(const Token &t, const llvm::Twine &what) {
    if (t.is(Tok::Error))
      return;
    error(t.loc, what + ", found " + describeToken(t));
  }
  void errorAtTok(const llvm::Twine &what) { errorAt(tok, what); }
  void recover(Ctx ctx);
  /// Skips to a '{' (returning true) or to a statement keyword / the end.
  bool skipToBrace();

  // --- statements ---------------------------------------------------------
  bool parseModelHeader();
  bool parseSettings(std::vector<ast::Assign> &out, llvm::StringRef keyword);
  bool parseInput();
  bool parseBlock();
  bool parseBlockBody(ast::Block &b);
  bool parseOutput();
  bool parseMinimize();
  bool parseAssign(ast::Assign &out);
  void reportMissingAssign();

  // --- expressions --------------------------------------------------------
  ExprPtr parseExpr();
  ExprPtr parseComparison();
  ExprPtr parseAdditive();
  ExprPtr parseMultiplicative();
  ExprPtr parseUnary();
  ExprPtr parsePrimary();
  ExprPtr parseCall();
  ExprPtr parseList();
  ExprPtr parseRepeat();
  ExprPtr makeBinary(ast::BinOp op, llvm::SMLoc opLoc, ExprPtr lhs, ExprPtr rhs);
  /// Computes e->height from its children; reports and returns null if too high.
  ExprPtr finish(ExprPtr e);

  struct DepthGuard {
    unsigned &d;
    explicit DepthGuard(unsigned &d) : d(d) { ++d; }
    ~DepthGuard() { --d; }
  };
  bool tooDeep() {
    if (depth < ast::kMaxExprDepth)
      return false;
    error(tok.loc, "expression nested too deeply");
    return true;
  }

  Lexer lex;
  LimitedSink &diags;
  Token tok, peekTok;
  bool havePeek = false;
  unsigned depth = 0;
  std::unique_ptr<ast::Module> mod = std::make_unique<ast::Module>();
  bool sawModel = false;
  /// config/train/block bodies that ended at a statement keyword with their
  /// '}' missing (already reported): a stray '}' at top level is theirs.
  unsigned unclosedBodies = 0;
};

//===----------------------------------------------------------------------===//
// Recovery
//===----------------------------------------------------------------------===//

void Parser::recover(Ctx ctx) {
  unsigned nesting = 0;  // brackets opened since the error
  while (!tok.is(Tok::Eof)) {
    if (isStatementKeyword(tok.kind))
      return;
    switch (tok.kind) {
    case Tok::KwReturn:
      if (ctx == Ctx::Block)
        return;
      break;
    case Tok::LParen:
    case Tok::LSquare:
    case Tok::LBrace:
      ++nesting;
      break;
    case Tok::RParen:
    case Tok::RSquare:
      if (nesting)
        --nesting;
      break;
    case Tok::RBrace:
      if (nesting)
        --nesting;
      else if (ctx != Ctx::Top)
        return;
      break;
    case Tok::Ident:
      if (nesting == 0 && peek().is(Tok::Assign))
        return;
      break;
    default:
      break;
    }
    advance();
  }
}

bool Parser::skipToBrace() {
  while (!tok.is(Tok::Eof) && !tok.is(Tok::LBrace) && !isStatementKeyword(tok.kind))
    advance();
  return tok.is(Tok::LBrace);
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

std::unique_ptr<ast::Module> Parser::parse() {
  mod->loc = tok.loc;
  if (tok.is(Tok::KwModel)) {
    if (!parseModelHeader())
      recover(Ctx::Top);
  } else {
    if (!tok.is(Tok::Error))
      error(tok.loc, "expected 'model NAME' at the start of the file");
    // Do not also complain about the first token itself if it cannot start a
    // statement: skip to something that can.
    if (!isStatementKeyword(tok.kind) && !atAssign()) {
      advance();
      recover(Ctx::Top);
    }
  }

  while (!tok.is(Tok::Eof)) {
    bool ok = true;
    switch (tok.kind) {
    case Tok::KwModel:
      if (sawModel) {
        error(tok.loc, "duplicate 'model' declaration");
        advance();
        ok = false;
      } else {
        // The missing header was already reported at the start of the file.
        ok = parseModelHeader();
      }
      break;
    case Tok::KwConfig:
      ok = parseSettings(mod->config, "config");
      break;
    case Tok::KwTrain:
      ok = parseSettings(mod->train, "train");
      break;
    case Tok::KwInput:
      ok = parseInput();
      break;
    case Tok::KwBlock:
      ok = parseBlock();
      break;
    case Tok::KwOutput:
      ok = parseOutput();
      break;
    case Tok::KwMinimize:
      ok = parseMinimize();
      break;
    case Tok::Ident:
      if (peek().is(Tok::Assign)) {
        ast::TopStmt s;
        s.kind = ast::TopStmt::AssignStmt;
        s.loc = tok.loc;
        ok = parseAssign(s.assign);
        if (ok)
          mod->stmts.push_back(std::move(s));
      } else {
        reportMissingAssign();
        ok = false;
      }
      break;
    case Tok::Error:
      advance();
      ok = false;
      break;
    case Tok::RBrace:
      if (unclosedBodies) {
        --unclosedBodies;
        advance();
        break;
      }
      errorAtTok("expected a statement");
      advance();
      ok = false;
      break;
    case Tok::KwReturn:
      error(tok.loc, "'return' outside of a block");
      advance();
      ok = false;
      break;
    default:
      errorAtTok("expected a statement");
      advance();
      ok = false;
      break;
    }
    if (!ok)
      recover(Ctx::Top);
  }
  if (diags.errorCount() != 0)
    return nullptr;
  return std::move(mod);
}

bool Parser::parseModelHeader() {
  mod->loc = tok.loc;
  sawModel = true;
  advance();  // 'model'
  if (!tok.is(Tok::Ident)) {
    errorAtTok("expected a model name after 'model'");
    return false;
  }
  mod->name = tok.text.str();
  advance();
  return true;
}

/// At an identifier not followed by '=': "expected '=' after 'x', found ...".
void Parser::reportMissingAssign() {
  std::string what = "expected '=' after " + quoteForMessage(tok.text);
  errorAt(peek(), what);
  advance();
}

bool Parser::parseAssign(ast::Assign &out) {
  out.name = tok.text.str();
  out.loc = tok.loc;
  advance();  // NAME
  advance();  // '='
  out.value = parseExpr();
  return out.value != nullptr;
}

bool Parser::parseSettings(std::vector<ast::Assign> &out, llvm::StringRef keyword) {
  advance();  // 'config' / 'train'
  if (!tok.is(Tok::LBrace)) {
    errorAtTok("expected '{' after '" + keyword + "'");
    if (!skipToBrace())
      return true;  // already at a statement
  }
  advance();  // '{'
  bool hadError = false;
  while (true) {
    if (tok.is(Tok::RBrace)) {
      advance();
      return true;
    }
    if (tok.is(Tok::Eof) || isStatementKeyword(tok.kind)) {
      if (!hadError)
        errorAtTok("expected '}' to close '" + keyword + "'");
      ++unclosedBodies;
      return true;
    }
    if (atAssign()) {
      ast::Assign a;
      if (parseAssign(a)) {
        out.push_back(std::move(a));
        continue;
      }
    } else if (tok.is(Tok::Ident)) {
      reportMissingAssign();
    } else if (tok.is(Tok::Error)) {
      advance();
    } else {
      errorAtTok("expected 'NAME = value' or '}' in '" + keyword + "'");
      advance();
    }
    hadError = true;
    recover(Ctx::Braces);
  }
}

bool Parser::parseInput() {
  ast::Input in;
  advance();  // 'input'
  if (!tok.is(Tok::Ident)) {
    errorAtTok("expected an input name after 'input'");
    return false;
  }
  in.name = tok.text.str();
  in.loc = tok.loc;
  std::string quotedName = quoteForMessage(tok.text);
  advance();
  if (!tok.is(Tok::Colon)) {
    errorAtTok("expected ':' after input " + quotedName);
    return false;
  }
  advance();
  if (!tok.is(Tok::Ident)) {
    errorAtTok("expected a dtype such as i32 or f32 for input " + quotedName);
    return false;
  }
  in.dtype = tok.text.str();
  in.dtypeLoc = tok.loc;
  advance();
  if (!tok.is(Tok::LSquare)) {
    errorAtTok("expected '[' to begin the shape of input " + quotedName);
    return false;
  }
  advance();
  while (!tok.is(Tok::RSquare)) {
    ast::DimExpr d;
    d.loc = tok.loc;
    if (tok.is(Tok::Ident)) {
      d.name = tok.text.str();
    } else if (tok.is(Tok::Number) && tok.isInteger) {
      d.value = static_cast<long long>(tok.number);
    } else if (tok.is(Tok::Number)) {
      error(tok.loc, "dimension " + quoteForMessage(tok.text) + " is not an integer");
      return false;
    } else {
      errorAtTok("expected a dimension (a name or an integer)");
      return false;
    }
    in.dims.push_back(std::move(d));
    advance();
    if (tok.is(Tok::Comma)) {
      advance();
    } else if (!tok.is(Tok::RSquare)) {
      errorAtTok("expected ',' or ']' in the shape of input " + quotedName);
      return false;
    }
  }
  advance();  // ']'
  mod->inputs.push_back(std::move(in));
  return true;
}

bool Parser::parseBlock() {
  ast::Block b;
  advance();  // 'block'
  bool headerOk = false;
  // The header; on an error, skip to its '{' and still check the body.
  [&] {
    if (!tok.is(Tok::Ident)) {
      errorAtTok("expected a block name after 'block'");
      return;
    }
    b.name = tok.text.str();
    b.loc = tok.loc;
    advance();
    std::string quoted = quoteForMessage(b.name);
    if (!tok.is(Tok::LParen)) {
      errorAtTok("expected '(' after block name " + quoted);
      return;
    }
    advance();
    llvm::StringSet<> seen;
    while (!tok.is(Tok::RParen)) {
      if (!tok.is(Tok::Ident)) {
        errorAtTok("expected a parameter name");
        return;
      }
      if (!seen.insert(tok.text).second)
        error(tok.loc, "duplicate parameter " + quoteForMessage(tok.text));
      b.params.push_back(tok.text.str());
      b.paramLocs.push_back(tok.loc);
      advance();
      if (tok.is(Tok::Comma)) {
        advance();
      } else if (!tok.is(Tok::RParen)) {
        errorAtTok("expected ',' or ')' in the parameters of block " + quoted);
        return;
      }
    }
    advance();  // ')'
    if (!tok.is(Tok::LBrace)) {
      errorAtTok("expected '{' to begin the body of block " + quoted);
      return;
    }
    headerOk = true;
  }();
  if (!headerOk && !skipToBrace())
    return true;  // at a statement keyword or the end: nothing to recover
  if (parseBlockBody(b) && headerOk)
    mod->blocks.push_back(std::move(b));
  return true;
}

/// At the '{' of a block body. Returns true if the body had no error.
bool Parser::parseBlockBody(ast::Block &b) {
  std::string quoted = b.name.empty() ? std::string("''") : quoteForMessage(b.name);
  advance();  // '{'
  bool hadError = false;
  while (true) {
    if (tok.is(Tok::RBrace)) {
      if (!hadError) {
        error(tok.loc, "block " + quoted + " must end with 'return EXPR'");
        hadError = true;
      }
      advance();
      return false;
    }
    if (tok.is(Tok::Eof) || isStatementKeyword(tok.kind)) {
      if (!hadError)
        errorAtTok("expected '}' to close block " + quoted);
      ++unclosedBodies;
      return false;
    }
    if (tok.is(Tok::KwReturn)) {
      b.returnLoc = tok.loc;
      advance();
      b.result = parseExpr();
      if (b.result) {
        if (tok.is(Tok::RBrace)) {
          advance();
          return !hadError;
        }
        errorAtTok("expected '}' after the return expression of block " + quoted);
        // Skip the rest of the body silently.
        unsigned nesting = 0;
        ++unclosedBodies;
        while (!tok.is(Tok::Eof) && !isStatementKeyword(tok.kind)) {
          if (tok.is(Tok::LBrace)) {
            ++nesting;
          } else if (tok.is(Tok::RBrace)) {
            if (nesting == 0) {
              --unclosedBodies;
              advance();
              break;
            }
            --nesting;
          }
          advance();
        }
        return false;
      }
    } else if (atAssign()) {
      ast::Assign a;
      if (parseAssign(a)) {
        b.body.push_back(std::move(a));
        continue;
      }
    } else if (tok.is(Tok::Ident)) {
      reportMissingAssign();
    } else if (tok.is(Tok::Error)) {
      advance();
    } else {
      errorAtTok("expected 'NAME = expr' or 'return expr' in block " + quoted);
      advance();
    }
    hadError = true;
    recover(Ctx::Block);
  }
}

bool Parser::parseOutput() {
  ast::TopStmt s;
  s.kind = ast::TopStmt::OutputStmt;
  s.loc = tok.loc;
  advance();  // 'output'
  while (true) {
    if (!tok.is(Tok::Ident)) {
      errorAtTok(s.names.empty() ? "expected a name after 'output'"
                                 : "expected a name after ','");
      return false;
    }
    s.names.push_back(tok.text.str());
    s.nameLocs.push_back(tok.loc);
    advance();
    if (!tok.is(Tok::Comma))
      break;
    advance();
  }
  mod->stmts.push_back(std::move(s));
  return true;
}

bool Parser::parseMinimize() {
  ast::TopStmt s;
  s.kind = ast::TopStmt::MinimizeStmt;
  s.loc = tok.loc;
  advance();  // 'minimize'
  s.target = parseExpr();
  if (!s.target)
    return false;
  if (s.target->kind == ExprKind::Ident) {
    s.names.push_back(s.target->text);
    s.nameLocs.push_back(s.target->loc);
  }
  mod->stmts.push_back(std::move(s));
  return true;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprPtr Parser::finish(ExprPtr e) {
  unsigned h = 0;
  for (const ExprPtr &op : e->operands)
    h = std::max(h, op->height);
  for (const ast::NamedArg &na : e->namedArgs)
    h = std::max(h, na.value->height);
  e->height = h + 1;
  if (e->height > ast::kMaxExprDepth) {
    error(e->opLoc, "expression nested too deeply");
    return nullptr;
  }
  return e;
}

ExprPtr Parser::makeBinary(ast::BinOp op, llvm::SMLoc opLoc, ExprPtr lhs, ExprPtr rhs) {
  auto e = std::make_unique<Expr>(ExprKind::Binary, lhs->loc);
  e->opLoc = opLoc;
  e->binOp = op;
  e->operands.push_back(std::move(lhs));
  e->operands.push_back(std::move(rhs));
  return finish(std::move(e));
}

ExprPtr Parser::parseExpr() {
  if (tooDeep())
    return nullptr;
  DepthGuard g(depth);
  return parseComparison();
}

static bool comparisonOp(Tok k, ast::BinOp &op) {
  switch (k) {
  case Tok::EqEq: op = ast::BinOp::Eq; return true;
  case Tok::NotEq: op = ast::BinOp::Ne; return true;
  case Tok::Less: op = ast::BinOp::Lt; return true;
  case Tok::LessEq: op = ast::BinOp::Le; return true;
  case Tok::Greater: op = ast::BinOp::Gt; return true;
  case Tok::GreaterEq: op = ast::BinOp::Ge; return true;
  default: return false;
  }
}

ExprPtr Parser::parseComparison() {
  ExprPtr lhs = parseAdditive();
  if (!lhs)
    return nullptr;
  ast::BinOp op;
  if (!comparisonOp(tok.kind, op))
    return lhs;
  llvm::SMLoc opLoc = tok.loc;
  advance();
  ExprPtr rhs = parseAdditive();
  if (!rhs)
    return nullptr;
  ExprPtr e = makeBinary(op, opLoc, std::move(lhs), std::move(rhs));
  if (!e)
    return nullptr;
  if (comparisonOp(tok.kind, op)) {
    error(tok.loc, "comparisons cannot be chained; use parentheses");
    return nullptr;
  }
  return e;
}

ExprPtr Parser::parseAdditive() {
  ExprPtr lhs = parseMultiplicative();
  while (lhs && (tok.is(Tok::Plus) || tok.is(Tok::Minus))) {
    ast::BinOp op = tok.is(Tok::Plus) ? ast::BinOp::Add : ast::BinOp::Sub;
    llvm::SMLoc opLoc = tok.loc;
    advance();
    ExprPtr rhs = parseMultiplicative();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(op, opLoc, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseMultiplicative() {
  ExprPtr lhs = parseUnary();
  while (lhs && (tok.is(Tok::Star) || tok.is(Tok::Slash) || tok.is(Tok::At))) {
    ast::BinOp op = tok.is(Tok::Star)    ? ast::BinOp::Mul
                    : tok.is(Tok::Slash) ? ast::BinOp::Div
                                         : ast::BinOp::MatMul;
    llvm::SMLoc opLoc = tok.loc;
    advance();
    ExprPtr rhs = parseUnary();
    if (!rhs)
      return nullptr;
    lhs = makeBinary(op, opLoc, std::move(lhs), std::move(rhs));
  }
  return lhs;
}

ExprPtr Parser::parseUnary() {
  if (!tok.is(Tok::Minus))
    return parsePrimary();
  if (tooDeep())
    return nullptr;
  DepthGuard g(depth);
  auto e = std::make_unique<Expr>(ExprKind::Unary, tok.loc);
  e->unOp = ast::UnOp::Neg;
  advance();  // '-'
  ExprPtr operand = parseUnary();
  if (!operand)
    return nullptr;
  e->operands.push_back(std::move(operand));
  return finish(std::move(e));
}

ExprPtr Parser::parsePrimary() {
  switch (tok.kind) {
  case Tok::Number: {
    auto e = std::make_unique<Expr>(ExprKind::Number, tok.loc);
    e->number = tok.number;
    e->isInteger = tok.isInteger;
    advance();
    return e;
  }
  case Tok::String: {
    auto e = std::make_unique<Expr>(ExprKind::String, tok.loc);
    e->text = std::move(tok.str);
    advance();
    return e;
  }
  case Tok::KwTrue:
  case Tok::KwFalse: {
    auto e = std::make_unique<Expr>(ExprKind::Bool, tok.loc);
    e->boolean = tok.is(Tok::KwTrue);
    advance();
    return e;
  }
  case Tok::Ident: {
    if (peek().is(Tok::LParen))
      return parseCall();
    auto e = std::make_unique<Expr>(ExprKind::Ident, tok.loc);
    e->text = tok.text.str();
    advance();
    return e;
  }
  case Tok::LParen: {
    advance();
    ExprPtr e = parseExpr();
    if (!e)
      return nullptr;
    if (!tok.is(Tok::RParen)) {
      errorAtTok("expected ')'");
      return nullptr;
    }
    advance();
    return e;
  }
  case Tok::LSquare:
    return parseList();
  case Tok::KwRepeat:
    return parseRepeat();
  default:
    errorAtTok("expected an expression");
    return nullptr;
  }
}

/// At NAME followed by '('.
ExprPtr Parser::parseCall() {
  auto call = std::make_unique<Expr>(ExprKind::Call, tok.loc);
  call->text = tok.text.str();
  std::string quoted = quoteForMessage(tok.text);
  advance();  // NAME
  advance();  // '('
  llvm::StringSet<> seen;
  while (!tok.is(Tok::RParen)) {
    if (tok.is(Tok::Ident) && peek().is(Tok::Colon)) {
      ast::NamedArg na;
      na.name = tok.text.str();
      na.nameLoc = tok.loc;
      if (!seen.insert(tok.text).second)
        error(tok.loc, "duplicate named argument " + quoteForMessage(tok.text));
      advance();  // NAME
      advance();  // ':'
      na.value = parseExpr();
      if (!na.value)
        return nullptr;
      call->namedArgs.push_back(std::move(na));
    } else {
      llvm::SMLoc argLoc = tok.loc;
      ExprPtr arg = parseExpr();
      if (!arg)
        return nullptr;
      if (tok.is(Tok::Assign) && arg->kind == ExprKind::Ident) {
        error(tok.loc, "named arguments are written '" + arg->text + ": value', not '" +
                           arg->text + " = value'");
        return nullptr;
      }
      if (!call->namedArgs.empty())
        error(argLoc, "positional argument after named argument");
      call->operands.push_back(std::move(arg));
    }
    if (tok.is(Tok::Comma)) {
      advance();
    } else if (!tok.is(Tok::RParen)) {
      if (!tok.is(Tok::Error))
        error(tok.loc, "expected ')' to close the call of " + quoted);
      return nullptr;
    }
  }
  advance();  // ')'
  return finish(std::move(call));
}

ExprPtr Parser::parseList() {
  auto list = std::make_unique<Expr>(ExprKind::List, tok.loc);
  advance();  // '['
  while (!tok.is(Tok::RSquare)) {
    ExprPtr elt = parseExpr();
    if (!elt)
      return nullptr;
    list->operands.push_back(std::move(elt));
    if (tok.is(Tok::Comma)) {
      advance();
    } else if (!tok.is(Tok::RSquare)) {
      errorAtTok("expected ',' or ']' in the list");
      return nullptr;
    }
  }
  advance();  // ']'
  return finish(std::move(list));
}

ExprPtr Parser::parseRepeat() {
  auto rep = std::make_unique<Expr>(ExprKind::Repeat, tok.loc);
  advance();  // 'repeat'
  if (!tok.is(Tok::LParen)) {
    errorAtTok("expected '(' after 'repeat'");
    return nullptr;
  }
  advance();
  ExprPtr count = parseExpr();
  if (!count)
    return nullptr;
  if (!tok.is(Tok::RParen)) {
    errorAtTok("expected ')' after the repeat count");
    return nullptr;
  }
  advance();
  if (!(tok.is(Tok::Ident) && peek().is(Tok::LParen))) {
    errorAtTok("expected a block call such as 'layer(x)' after 'repeat(...)'");
    return nullptr;
  }
  if (tooDeep())
    return nullptr;
  DepthGuard g(depth);
  ExprPtr call = parseCall();
  if (!call)
    return nullptr;
  rep->operands.push_back(std::move(count));
  rep->operands.push_back(std::move(call));
  return finish(std::move(rep));
}

}  // namespace

std::unique_ptr<ast::Module> parseModule(llvm::SourceMgr &sm, unsigned bufferId,
                                         DiagSink &diags) {
  LimitedSink limited(diags);
  Parser p(sm, bufferId, limited);
  return p.parse();
}

}  // namespace heed
