//===- Diagnostics.h - where the lexer and parser report errors -*- C++ -*-===//
//
// The lexer and parser stay free of MLIR: they report through this sink. The
// `heed` driver forwards each report to MLIR's diagnostic engine (as a
// FileLineColLoc), so parse errors, shape errors and verifier errors all print
// the same way: `file:line:col: error: msg`, the source line and a caret.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "llvm/ADT/Twine.h"
#include "llvm/Support/SMLoc.h"

namespace heed {

class DiagSink {
public:
  virtual ~DiagSink() = default;
  void error(llvm::SMLoc loc, const llvm::Twine &msg) {
    ++numErrors;
    report(loc, msg, /*isError=*/true);
  }
  void note(llvm::SMLoc loc, const llvm::Twine &msg) { report(loc, msg, false); }
  unsigned errorCount() const { return numErrors; }

protected:
  virtual void report(llvm::SMLoc loc, const llvm::Twine &msg, bool isError) = 0;

private:
  unsigned numErrors = 0;
};

}  // namespace heed
