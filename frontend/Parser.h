//===- Parser.h - .heed text -> ast::Module ----------------------*- C++ -*-===//
//
// A recursive-descent parser for the model language (the grammar is at the
// top of Parser.cpp). Errors go to the
// DiagSink at the offending token, in lower case without a final period:
//
//   unexpected character '$'
//   expected ')' to close the call of 'attention'
//   expected an expression, found ')'
//
// After an error the parser skips to the next statement (a statement keyword,
// `NAME =`, or the `}` that closes the current config/train/block) and goes
// on, so independent errors are all reported; it never reports two errors at
// the same location and stops after 20 errors. Expressions nested deeper than
// ast::kMaxExprDepth are rejected ("expression nested too deeply"), so no
// input can exhaust the stack.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"

#include <memory>

namespace llvm {
class SourceMgr;
class raw_ostream;
}  // namespace llvm

namespace heed {

/// The parser stops (with a note "too many errors, stopping") after this many.
constexpr unsigned kMaxParseErrors = 20;

/// Parses buffer `bufferId` of `sm`. Returns the module, or nullptr if any
/// error was reported.
std::unique_ptr<ast::Module> parseModule(llvm::SourceMgr &sm, unsigned bufferId,
                                         DiagSink &diags);

/// Prints the AST as an indented tree (for `heed emit --stage ast`), with the
/// line:col of each node.
void printAST(const ast::Module &m, llvm::SourceMgr &sm, llvm::raw_ostream &os);

}  // namespace heed
