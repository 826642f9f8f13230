//===- FrontendTestUtil.h - helpers for the frontend unit tests -*- C++ -*-===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Diagnostics.h"
#include "frontend/Parser.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>
#include <vector>

namespace heed::test {

/// Collects every report as "line:col: message" (errors) or
/// "line:col: note: message" (notes).
class CollectingSink : public DiagSink {
public:
  explicit CollectingSink(llvm::SourceMgr &sm) : sm(sm) {}
  std::vector<std::string> errors;
  std::vector<std::string> notes;

protected:
  void report(llvm::SMLoc loc, const llvm::Twine &msg, bool isError) override {
    auto [line, col] = sm.getLineAndColumn(loc);
    std::string s = std::to_string(line) + ":" + std::to_string(col) + ": " + msg.str();
    (isError ? errors : notes).push_back(std::move(s));
  }

private:
  llvm::SourceMgr &sm;
};

/// A SourceMgr holding one buffer, and a sink over it.
struct Source {
  llvm::SourceMgr sm;
  CollectingSink sink{sm};
  unsigned bufferId = 0;

  explicit Source(llvm::StringRef text) {
    bufferId = sm.AddNewSourceBuffer(
        llvm::MemoryBuffer::getMemBufferCopy(text, "test.heed"), llvm::SMLoc());
  }
  std::unique_ptr<ast::Module> parse() { return parseModule(sm, bufferId, sink); }
  std::string lineCol(llvm::SMLoc loc) {
    auto [line, col] = sm.getLineAndColumn(loc);
    return std::to_string(line) + ":" + std::to_string(col);
  }
};

}  // namespace heed::test
