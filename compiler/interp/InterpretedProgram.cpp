//===- InterpretedProgram.cpp - the reference backend ---------------------===//

#include "compiler/interp/InterpretedProgram.h"

#include "compiler/ModuleProgram.h"
#include "compiler/interp/Interpreter.h"

namespace heed {
namespace {

class InterpretedProgram : public ModuleProgram {
protected:
  std::vector<rt::Tensor> runFunction(mlir::func::FuncOp fn, const std::string &,
                                      const std::vector<rt::Tensor> &inputs,
                                      rt::RunContext &ctx) override {
    return interpret(fn, inputs, ctx);
  }
};

}  // namespace

std::unique_ptr<rt::Program> buildReferenceProgram(const std::string &modelPath,
                                                   const ImportOptions &options) {
  auto p = std::make_unique<InterpretedProgram>();
  if (!p->build(modelPath, options)) return nullptr;
  return p;
}

}  // namespace heed
