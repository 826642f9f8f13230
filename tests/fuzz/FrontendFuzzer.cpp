//===- FrontendFuzzer.cpp - libFuzzer entry point for lex+parse+print -----===//
//
// Any byte string must parse (or fail with diagnostics) without crashing,
// hanging or unbounded recursion. Besides the sanitizers, this checks the
// parser's contract: nullptr iff an error was reported, at most
// kMaxParseErrors errors, and every reported location inside the buffer.
//
//===----------------------------------------------------------------------===//

#include "frontend/Diagnostics.h"
#include "frontend/Parser.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

class CheckingSink : public heed::DiagSink {
public:
  CheckingSink(const llvm::SourceMgr &sm, unsigned bufferId) : sm(sm), bufferId(bufferId) {}

protected:
  void report(llvm::SMLoc loc, const llvm::Twine &msg, bool isError) override {
    // Every location must point into the buffer (the end counts, for EOF).
    if (sm.FindBufferContainingLoc(loc) != bufferId)
      std::abort();
    std::string s = msg.str();
    // Messages are lower case, one line, without a final period.
    if (s.empty() || s.back() == '.' || (s[0] >= 'A' && s[0] <= 'Z'))
      std::abort();
    (void)sm.getLineAndColumn(loc, bufferId);
  }

private:
  const llvm::SourceMgr &sm;
  unsigned bufferId;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sm;
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  unsigned id = sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, "fuzz.heed"),
                                      llvm::SMLoc());
  CheckingSink sink(sm, id);
  std::unique_ptr<heed::ast::Module> m = heed::parseModule(sm, id, sink);
  if ((m == nullptr) != (sink.errorCount() != 0))
    std::abort();
  if (sink.errorCount() > heed::kMaxParseErrors)
    std::abort();
  if (m)
    heed::printAST(*m, sm, llvm::nulls());
  return 0;
}
