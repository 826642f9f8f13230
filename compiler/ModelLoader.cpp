//===- ModelLoader.cpp ----------------------------------------------------===//

#include "compiler/ModelLoader.h"

#include "frontend/Diagnostics.h"
#include "frontend/Parser.h"
#include "ops/HeedDialect.h"
#include "runtime/AtomicFile.h"
#include "runtime/Error.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

namespace heed {

struct ModelLoader::Handler {
  std::unique_ptr<mlir::SourceMgrDiagnosticHandler> printer;
  std::unique_ptr<mlir::SourceMgrDiagnosticVerifierHandler> verifier;
};

ModelLoader::ModelLoader(bool verifyDiagnostics)
    : verify(verifyDiagnostics), handler(std::make_unique<Handler>()) {
  mlir::DialectRegistry registry;
  registerHeedDialects(registry);
  ctx.appendDialectRegistry(registry);
  ctx.loadAllAvailableDialects();
  if (!verify) handler->printer = std::make_unique<mlir::SourceMgrDiagnosticHandler>(sm, &ctx);
}

ModelLoader::~ModelLoader() = default;

bool ModelLoader::verified() {
  return handler->verifier && mlir::succeeded(handler->verifier->verify());
}

namespace {
/// Parser errors become MLIR diagnostics at FileLineColLocs: one printing path.
class MlirDiagSink : public DiagSink {
public:
  MlirDiagSink(mlir::MLIRContext &ctx, llvm::SourceMgr &sm) : ctx(ctx), sm(sm) {}

protected:
  void report(llvm::SMLoc l, const llvm::Twine &msg, bool isError) override {
    mlir::Location loc = mlir::UnknownLoc::get(&ctx);
    if (unsigned buf = sm.FindBufferContainingLoc(l)) {
      auto lc = sm.getLineAndColumn(l, buf);
      loc = mlir::FileLineColLoc::get(&ctx, sm.getMemoryBuffer(buf)->getBufferIdentifier(),
                                      lc.first, lc.second);
    }
    ctx.getDiagEngine().emit(loc, isError ? mlir::DiagnosticSeverity::Error
                                          : mlir::DiagnosticSeverity::Note)
        << msg.str();
  }

private:
  mlir::MLIRContext &ctx;
  llvm::SourceMgr &sm;
};
}  // namespace

std::unique_ptr<ast::Module> ModelLoader::parse(const std::string &path) {
  // rt::readTextFile refuses FIFOs and devices (which would block or never end) and
  // drops a UTF-8 byte-order mark, which is no character of the model.
  std::string text;
  try {
    text = rt::readTextFile(path, "model file");
  } catch (const rt::Error &e) {
    llvm::errs() << "error: " << e.what() << "\n";
    return nullptr;
  }
  if (text.size() > (64u << 20)) {
    llvm::errs() << "error: model file '" << path << "' is larger than 64 MiB\n";
    return nullptr;
  }
  unsigned id = sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(text, path), llvm::SMLoc());
  if (verify)
    handler->verifier = std::make_unique<mlir::SourceMgrDiagnosticVerifierHandler>(sm, &ctx);
  MlirDiagSink sink(ctx, sm);
  return parseModule(sm, id, sink);
}

LoadedModel ModelLoader::load(const std::string &path, const ImportOptions &options) {
  LoadedModel out;
  out.ast = parse(path);
  if (!out.ast) return out;
  out.module = importModel(*out.ast, sm, ctx, options);
  return out;
}

std::string parseSetFlags(const std::vector<std::string> &sets, std::map<std::string, std::string> &out) {
  std::map<std::string, std::string> given;
  for (const std::string &s : sets) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size()) return "--set expects key=value, got '" + s + "'";
    std::string key = s.substr(0, eq), value = s.substr(eq + 1);
    if (auto it = given.find(key); it != given.end())
      return "--set " + key + " is given twice (" + it->second + ", " + value + "); give it once";
    given[key] = value;
  }
  for (auto &[k, v] : given) out[k] = v;
  return "";
}

bool parseOverrides(const std::vector<std::string> &sets, ImportOptions &options) {
  if (std::string err = parseSetFlags(sets, options.overrides); !err.empty()) {
    llvm::errs() << "error: " << err << "\n";
    return false;
  }
  return true;
}

}  // namespace heed
