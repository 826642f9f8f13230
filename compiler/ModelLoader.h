//===- ModelLoader.h - model file to heed IR, with diagnostics --*- C++ -*-===//
//
// The one path every `heed` command takes from a .heed file to IR: read the
// file, parse, import. All errors (parse, shape, verifier) go through MLIR's
// diagnostic engine and print as `file:line:col: error: msg` + line + caret.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/ImportToIR.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/SourceMgr.h"

#include <memory>
#include <string>

namespace heed {

struct LoadedModel {
  std::unique_ptr<ast::Module> ast;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

class ModelLoader {
public:
  /// `verifyDiagnostics`: check errors against `# expected-error` comments instead of printing.
  explicit ModelLoader(bool verifyDiagnostics = false);
  ~ModelLoader();

  /// Reads and parses `path`. Null (after printing errors) on failure.
  std::unique_ptr<ast::Module> parse(const std::string &path);
  /// parse + import. `result.module` is null on failure.
  LoadedModel load(const std::string &path, const ImportOptions &options);

  mlir::MLIRContext &context() { return ctx; }
  llvm::SourceMgr &sourceMgr() { return sm; }
  /// With verifyDiagnostics: did the emitted diagnostics match the expectations?
  bool verified();

private:
  mlir::MLIRContext ctx;
  llvm::SourceMgr sm;
  bool verify;
  struct Handler;
  std::unique_ptr<Handler> handler;
};

/// The --set key=value strings as a map; "" or why they are not: a string that
/// is not key=value, or a key given twice ("--set layers is given twice (2, 3);
/// give it once").
std::string parseSetFlags(const std::vector<std::string> &sets, std::map<std::string, std::string> &out);

/// parseSetFlags into ImportOptions::overrides; prints "error: ..." and returns
/// false on a bad --set.
bool parseOverrides(const std::vector<std::string> &sets, ImportOptions &options);

}  // namespace heed
