//===- ASTPrinter.cpp - ast::Module as an indented tree -------------------===//
//
// The output of `heed emit --stage ast`. One node per line, children indented
// by two spaces, each node followed by <line:col> of its first character:
//
//   Module tiny_lm <1:1>
//     Config
//       Assign d_ff <6:3>
//         Binary * <6:13>
//           Number 4 <6:13>
//           Ident d_model <6:17>
//     Input tokens : i32[batch, seq] <13:7>
//     Block decoder_layer(x) <16:7>
//       Assign a <17:3>
//         Call attention <17:7>
//           Call layer_norm <17:17>
//             Ident x <17:28>
//           NamedArg heads <17:32>
//             Ident heads <17:39>
//       Return <20:3>
//         ...
//     Assign h <23:1>
//     Output logits <29:1>
//     Minimize <30:1>
//       Ident loss <30:10>
//
//===----------------------------------------------------------------------===//

#include "frontend/AST.h"
#include "frontend/Parser.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace heed {

const char *ast::binOpSpelling(BinOp op) {
  switch (op) {
  case BinOp::Eq: return "==";
  case BinOp::Ne: return "!=";
  case BinOp::Lt: return "<";
  case BinOp::Le: return "<=";
  case BinOp::Gt: return ">";
  case BinOp::Ge: return ">=";
  case BinOp::Add: return "+";
  case BinOp::Sub: return "-";
  case BinOp::Mul: return "*";
  case BinOp::Div: return "/";
  case BinOp::MatMul: return "@";
  }
  return "?";
}

namespace {

/// The shortest "%g" spelling that reads back as the same double.
std::string formatNumber(double v, bool isInteger) {
  char buf[64];
  if (isInteger && std::fabs(v) < 1e18) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v)
      break;
  }
  return buf;
}

void printEscaped(llvm::raw_ostream &os, const std::string &s) {
  os << '"';
  for (unsigned char c : s) {
    switch (c) {
    case '"': os << "\\\""; break;
    case '\\': os << "\\\\"; break;
    case '\n': os << "\\n"; break;
    case '\t': os << "\\t"; break;
    default:
      if (c < 0x20 || c == 0x7f)
        os << "\\x" << llvm::format_hex_no_prefix(c, 2);
      else
        os << static_cast<char>(c);
    }
  }
  os << '"';
}

class Printer {
public:
  Printer(llvm::SourceMgr &sm, llvm::raw_ostream &os) : sm(sm), os(os) {}

  void module(const ast::Module &m) {
    line(0) << "Module " << m.name;
    at(m.loc);
    if (!m.config.empty()) {
      line(1) << "Config\n";
      for (const ast::Assign &a : m.config)
        assign(a, 2);
    }
    if (!m.train.empty()) {
      line(1) << "Train\n";
      for (const ast::Assign &a : m.train)
        assign(a, 2);
    }
    for (const ast::Input &in : m.inputs) {
      line(1) << "Input " << in.name << " : " << in.dtype << '[';
      for (size_t i = 0; i < in.dims.size(); ++i) {
        if (i)
          os << ", ";
        if (in.dims[i].name.empty())
          os << in.dims[i].value;
        else
          os << in.dims[i].name;
      }
      os << ']';
      at(in.loc);
    }
    for (const ast::Block &b : m.blocks) {
      line(1) << "Block " << b.name << '(';
      for (size_t i = 0; i < b.params.size(); ++i)
        os << (i ? ", " : "") << b.params[i];
      os << ')';
      at(b.loc);
      for (const ast::Assign &a : b.body)
        assign(a, 2);
      line(2) << "Return";
      at(b.returnLoc);
      if (b.result)
        expr(*b.result, 3);
    }
    for (const ast::TopStmt &s : m.stmts) {
      switch (s.kind) {
      case ast::TopStmt::AssignStmt:
        assign(s.assign, 1);
        break;
      case ast::TopStmt::OutputStmt:
        line(1) << "Output";
        for (size_t i = 0; i < s.names.size(); ++i)
          os << (i ? ", " : " ") << s.names[i];
        at(s.loc);
        break;
      case ast::TopStmt::MinimizeStmt:
        line(1) << "Minimize";
        at(s.loc);
        if (s.target)
          expr(*s.target, 2);
        break;
      }
    }
  }

private:
  llvm::raw_ostream &line(unsigned indent) {
    os.indent(indent * 2);
    return os;
  }

  void at(llvm::SMLoc loc) {
    if (loc.isValid() && sm.FindBufferContainingLoc(loc) != 0) {
      auto [l, c] = sm.getLineAndColumn(loc);
      os << " <" << l << ':' << c << ">\n";
    } else {
      os << " <?:?>\n";
    }
  }

  void assign(const ast::Assign &a, unsigned indent) {
    line(indent) << "Assign " << a.name;
    at(a.loc);
    if (a.value)
      expr(*a.value, indent + 1);
  }

  void expr(const ast::Expr &e, unsigned indent) {
    llvm::raw_ostream &o = line(indent);
    switch (e.kind) {
    case ast::ExprKind::Number:
      o << "Number " << formatNumber(e.number, e.isInteger);
      break;
    case ast::ExprKind::String:
      o << "String ";
      printEscaped(o, e.text);
      break;
    case ast::ExprKind::Bool:
      o << "Bool " << (e.boolean ? "true" : "false");
      break;
    case ast::ExprKind::Ident:
      o << "Ident " << e.text;
      break;
    case ast::ExprKind::Call:
      o << "Call " << e.text;
      break;
    case ast::ExprKind::Binary:
      o << "Binary " << ast::binOpSpelling(e.binOp);
      break;
    case ast::ExprKind::Unary:
      o << "Unary -";
      break;
    case ast::ExprKind::List:
      o << "List";
      break;
    case ast::ExprKind::Repeat:
      o << "Repeat";
      break;
    }
    at(e.loc);
    for (const ast::ExprPtr &op : e.operands)
      if (op)
        expr(*op, indent + 1);
    for (const ast::NamedArg &na : e.namedArgs) {
      line(indent + 1) << "NamedArg " << na.name;
      at(na.nameLoc);
      if (na.value)
        expr(*na.value, indent + 2);
    }
  }

  llvm::SourceMgr &sm;
  llvm::raw_ostream &os;
};

}  // namespace

void printAST(const ast::Module &m, llvm::SourceMgr &sm, llvm::raw_ostream &os) {
  Printer(sm, os).module(m);
}

}  // namespace heed
