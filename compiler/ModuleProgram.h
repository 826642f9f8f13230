//===- ModuleProgram.h - a model compiled to the training module -*- C++ -*-===//
//
// Shared by both backends: parses and checks the model, runs the training
// pipeline (@train_step, @eval, @forward, and @encode/@decode for
// encoder-decoders), and describes its parameters and entry points. A backend
// only says how to run an entry function.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "compiler/CompileProgress.h"

#include "compiler/ModelLoader.h"
#include "frontend/ImportToIR.h"
#include "runtime/Program.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <memory>
#include <string>

namespace heed {

class ModuleProgram : public rt::Program {
public:
  ModuleProgram();
  ~ModuleProgram() override;
  /// Parses, checks and compiles the model; false after printing errors.
  bool build(const std::string &path, const ImportOptions &options);

  const rt::ModelInfo &info() const override { return info_; }
  const std::vector<rt::ParamSpec> &params() const override { return params_; }
  const rt::EntrySpec *entry(const std::string &name) const override;
  std::vector<rt::Tensor> run(const std::string &entry, const std::vector<rt::Tensor> &inputs,
                              rt::RunContext &ctx) override;

  mlir::ModuleOp module() { return *model.module; }
  mlir::func::FuncOp function(const std::string &entry) const;

protected:
  /// False for a program that is only compiled, never run here (heed compile):
  /// build() then skips the memory check.
  bool checksMemory = true;
  /// Stages of a long compile on stderr (CompileProgress.h); prepare() adds its own.
  CompileProgress progress;
  /// Called once after the module is built; a backend compiles here.
  virtual bool prepare() { return true; }
  virtual std::vector<rt::Tensor> runFunction(mlir::func::FuncOp fn, const std::string &entry,
                                              const std::vector<rt::Tensor> &inputs,
                                              rt::RunContext &ctx) = 0;

private:
  std::unique_ptr<ModelLoader> loader;
  LoadedModel model;
  rt::ModelInfo info_;
  std::vector<rt::ParamSpec> params_;
  std::map<std::string, rt::EntrySpec> entries_;
  std::map<std::string, mlir::func::FuncOp> funcs_;
};

}  // namespace heed
